package authmodule

import (
	"context"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/observability"
)

// authEdge is auth.Service with per-edge metrics.
type authEdge struct {
	next auth.Service
	edge observability.Edge
}

// Instrument wraps an in-process Service with per-edge metrics (and a span
// per call when e has a tracer) along e.
func Instrument(s auth.Service, e observability.Edge) auth.Service {
	return authEdge{next: s, edge: e}
}

func (s authEdge) Register(ctx context.Context, r auth.RegisterRequest) (auth.User, error) {
	return observability.Call(ctx, s.edge, "Register", func(ctx context.Context) (auth.User, error) { return s.next.Register(ctx, r) })
}

func (s authEdge) Me(ctx context.Context) (auth.User, error) {
	return observability.Call(ctx, s.edge, "Me", func(ctx context.Context) (auth.User, error) { return s.next.Me(ctx) })
}

func (s authEdge) UpdateMe(ctx context.Context, r auth.UpdateMeRequest) (auth.User, error) {
	return observability.Call(ctx, s.edge, "UpdateMe", func(ctx context.Context) (auth.User, error) { return s.next.UpdateMe(ctx, r) })
}

func (s authEdge) ChangePassword(ctx context.Context, r auth.ChangePasswordRequest) error {
	return observability.CallErr(ctx, s.edge, "ChangePassword", func(ctx context.Context) error { return s.next.ChangePassword(ctx, r) })
}

func (s authEdge) ListUsers(ctx context.Context, r auth.ListUsersRequest) (auth.UserList, error) {
	return observability.Call(ctx, s.edge, "ListUsers", func(ctx context.Context) (auth.UserList, error) { return s.next.ListUsers(ctx, r) })
}

func (s authEdge) SetRoles(ctx context.Context, r auth.SetRolesRequest) (auth.User, error) {
	return observability.Call(ctx, s.edge, "SetRoles", func(ctx context.Context) (auth.User, error) { return s.next.SetRoles(ctx, r) })
}

func (s authEdge) SignIn(ctx context.Context, r auth.SignInRequest) (auth.Tokens, error) {
	return observability.Call(ctx, s.edge, "SignIn", func(ctx context.Context) (auth.Tokens, error) { return s.next.SignIn(ctx, r) })
}

func (s authEdge) SignOut(ctx context.Context, r auth.SignOutRequest) error {
	return observability.CallErr(ctx, s.edge, "SignOut", func(ctx context.Context) error { return s.next.SignOut(ctx, r) })
}

func (s authEdge) Token(ctx context.Context, r auth.TokenRequest) (auth.Tokens, error) {
	return observability.Call(ctx, s.edge, "Token", func(ctx context.Context) (auth.Tokens, error) { return s.next.Token(ctx, r) })
}

func (s authEdge) Revoke(ctx context.Context, r auth.RevokeRequest) error {
	return observability.CallErr(ctx, s.edge, "Revoke", func(ctx context.Context) error { return s.next.Revoke(ctx, r) })
}

func (s authEdge) Introspect(ctx context.Context, r auth.IntrospectRequest) (auth.Introspection, error) {
	return observability.Call(ctx, s.edge, "Introspect", func(ctx context.Context) (auth.Introspection, error) { return s.next.Introspect(ctx, r) })
}

func (s authEdge) JWKS(ctx context.Context) (auth.JWKS, error) {
	return observability.Call(ctx, s.edge, "JWKS", func(ctx context.Context) (auth.JWKS, error) { return s.next.JWKS(ctx) })
}

func (s authEdge) CheckAuthorization(ctx context.Context, r auth.AuthorizationRequest) (auth.AuthorizationInfo, error) {
	return observability.Call(ctx, s.edge, "CheckAuthorization", func(ctx context.Context) (auth.AuthorizationInfo, error) { return s.next.CheckAuthorization(ctx, r) })
}

func (s authEdge) Authorize(ctx context.Context, r auth.AuthorizeRequest) (auth.AuthorizeResult, error) {
	return observability.Call(ctx, s.edge, "Authorize", func(ctx context.Context) (auth.AuthorizeResult, error) { return s.next.Authorize(ctx, r) })
}

func (s authEdge) Consent(ctx context.Context, r auth.ConsentRequest) (auth.AuthorizeResult, error) {
	return observability.Call(ctx, s.edge, "Consent", func(ctx context.Context) (auth.AuthorizeResult, error) { return s.next.Consent(ctx, r) })
}

func (s authEdge) CreateClient(ctx context.Context, r auth.CreateClientRequest) (auth.CreatedClient, error) {
	return observability.Call(ctx, s.edge, "CreateClient", func(ctx context.Context) (auth.CreatedClient, error) { return s.next.CreateClient(ctx, r) })
}

func (s authEdge) ListClients(ctx context.Context) (auth.ClientList, error) {
	return observability.Call(ctx, s.edge, "ListClients", func(ctx context.Context) (auth.ClientList, error) { return s.next.ListClients(ctx) })
}

func (s authEdge) GetClient(ctx context.Context, r auth.GetClientRequest) (auth.Client, error) {
	return observability.Call(ctx, s.edge, "GetClient", func(ctx context.Context) (auth.Client, error) { return s.next.GetClient(ctx, r) })
}

func (s authEdge) UpdateClient(ctx context.Context, r auth.UpdateClientRequest) (auth.Client, error) {
	return observability.Call(ctx, s.edge, "UpdateClient", func(ctx context.Context) (auth.Client, error) { return s.next.UpdateClient(ctx, r) })
}

func (s authEdge) DeleteClient(ctx context.Context, r auth.DeleteClientRequest) error {
	return observability.CallErr(ctx, s.edge, "DeleteClient", func(ctx context.Context) error { return s.next.DeleteClient(ctx, r) })
}

func (s authEdge) SigningKeys(ctx context.Context) (auth.SigningKeyList, error) {
	return observability.Call(ctx, s.edge, "SigningKeys", func(ctx context.Context) (auth.SigningKeyList, error) { return s.next.SigningKeys(ctx) })
}

func (s authEdge) RotateSigningKey(ctx context.Context) (auth.SigningKey, error) {
	return observability.Call(ctx, s.edge, "RotateSigningKey", func(ctx context.Context) (auth.SigningKey, error) {
		return s.next.RotateSigningKey(ctx)
	})
}
