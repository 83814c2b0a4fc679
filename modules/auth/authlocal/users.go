package authlocal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/ids"
)

// Register implements auth.Service. Valid requests get one answer: the
// password is hashed and one writing transaction runs whether or not the
// email has an account, so neither the answer nor its time tells them apart.
func (s *Service) Register(ctx context.Context, req auth.RegisterRequest) (auth.Registration, error) {
	row, err := s.newUserRow(ctx, req, nil)
	if err != nil {
		return auth.Registration{}, err
	}
	err = s.register(ctx, row)
	if errors.Is(err, auth.ErrEmailTaken) {
		// Registered concurrently (between the lookup and the insert, on a
		// database that does not serialize writers): the email now has an
		// account, so this is an attempt on it.
		err = s.register(ctx, row)
	}
	if err != nil {
		return auth.Registration{}, apperr.OrInternal(err, "register user")
	}
	return auth.Registration{Status: auth.RegistrationAccepted, Email: row.Email}, nil
}

// createUser creates an account with roles (guest if none) and records
// its user.registered event in the same transaction: for operators, who
// are told when the email is taken (auth.ErrEmailTaken).
func (s *Service) createUser(ctx context.Context, req auth.RegisterRequest, roles []string) (auth.User, error) {
	row, err := s.newUserRow(ctx, req, roles)
	if err != nil {
		return auth.User{}, err
	}
	if err := s.store.write(ctx, func(tx storeTx) error { return addUser(ctx, tx, row) }); err != nil {
		return auth.User{}, apperr.OrInternal(err, "create user")
	}
	return toUser(row), nil
}

// register adds row, with its user.registered event, unless its email
// already has an account: then that account is left alone and a
// registration_attempted event naming it is recorded instead. Both paths
// are one writing transaction of about the same work.
func (s *Service) register(ctx context.Context, row userRow) error {
	return s.store.write(ctx, func(tx storeTx) error {
		owner, taken, err := tx.emailOwner(ctx, row.EmailKey)
		if err != nil {
			return err
		}
		if !taken {
			return addUser(ctx, tx, row)
		}
		return tx.record(ctx, auth.EventRegistrationAttempted, auth.RegistrationAttempted{
			UserID: owner.ID, Email: owner.Email, Name: owner.Name,
			Kind: auth.RegistrationAttemptExistingAccount, AttemptedAt: row.CreatedAt,
		})
	})
}

// addUser adds row and records its user.registered event in tx. An email
// already registered is auth.ErrEmailTaken.
func addUser(ctx context.Context, tx storeTx, row userRow) error {
	if err := tx.insertUser(ctx, row); err != nil {
		return err
	}
	return tx.record(ctx, auth.EventUserRegistered, auth.UserRegistered{
		UserID: row.ID, Email: row.Email, Name: row.Name, Roles: row.Roles, RegisteredAt: row.CreatedAt,
	})
}

// recordTokensRevoked records, in tx, that userID's access tokens issued
// before notBefore are revoked (auth.EventTokensRevoked).
func recordTokensRevoked(ctx context.Context, tx storeTx, userID string, notBefore time.Time, reason string) error {
	return tx.record(ctx, auth.EventTokensRevoked, auth.TokensRevoked{UserID: userID, NotBefore: notBefore, Reason: reason})
}

// newUserRow validates a registration and builds its row, the password
// hashed (the dominant cost of registering).
func (s *Service) newUserRow(ctx context.Context, req auth.RegisterRequest, roles []string) (userRow, error) {
	req.Email, req.Name = strings.TrimSpace(req.Email), strings.TrimSpace(req.Name)
	if err := validateRegistration(s.validate.Struct(auth.ErrInvalidRequest.Reason, req), req); err != nil {
		return userRow{}, err
	}
	roles, err := normalizeRoles(roles)
	if err != nil {
		return userRow{}, err
	}
	hash, err := s.hasher.hash(ctx, req.Password)
	if err != nil {
		return userRow{}, apperr.OrInternal(err, "hash password")
	}
	now := s.now()
	return userRow{
		ID: ids.New("usr"), Email: req.Email, EmailKey: emailKey(req.Email),
		Name: req.Name, PasswordHash: hash, Roles: roles, CreatedAt: now, UpdatedAt: now,
	}, nil
}

// validateRegistration names every bad field of a registration in one
// answer: invalid is the validator's verdict on the request, to which the
// password rules add theirs (a weak password alone is ErrWeakPassword).
func validateRegistration(invalid error, req auth.RegisterRequest) error {
	weak := checkPassword("password", req.Password, req.Email)
	if invalid == nil || weak == nil {
		return cmp.Or(invalid, weak)
	}
	bad := apperr.As(invalid)
	for _, f := range bad.Fields {
		if f.Field == "password" {
			return bad // the validator already says what is wrong with it
		}
	}
	return bad.WithFields(apperr.As(weak).Fields...)
}

// normalizeRoles orders roles by privilege without repeats; none is guest.
func normalizeRoles(roles []string) ([]string, error) {
	if len(roles) == 0 {
		return []string{authn.RoleGuest}, nil
	}
	out := make([]string, 0, len(roles))
	for _, r := range authn.Roles {
		if slices.Contains(roles, r) {
			out = append(out, r)
		}
	}
	for _, r := range roles {
		if !slices.Contains(authn.Roles, r) {
			return nil, auth.ErrInvalidRequest.WithFields(apperr.FieldError{Field: "roles", Reason: "oneof", Detail: "must be one of: guest, staff, admin"})
		}
	}
	return out, nil
}

func toUser(r userRow) auth.User {
	return auth.User{ID: r.ID, Email: r.Email, Name: r.Name, Roles: slices.Clone(r.Roles), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Me implements auth.Service.
func (s *Service) Me(ctx context.Context) (auth.User, error) {
	p, err := requireUser(ctx)
	if err != nil {
		return auth.User{}, err
	}
	u, err := s.store.user(ctx, p.Subject)
	if err != nil {
		return auth.User{}, err
	}
	return toUser(u), nil
}

// UpdateMe implements auth.Service.
func (s *Service) UpdateMe(ctx context.Context, req auth.UpdateMeRequest) (auth.User, error) {
	p, err := requireUser(ctx)
	if err != nil {
		return auth.User{}, err
	}
	if req.Email != nil {
		e := strings.TrimSpace(*req.Email)
		req.Email = &e
	}
	if err := s.validate.Struct(auth.ErrInvalidRequest.Reason, req); err != nil {
		return auth.User{}, err
	}
	u, err := s.store.user(ctx, p.Subject)
	if err != nil {
		return auth.User{}, err
	}
	changes := userChanges{UpdatedAt: s.now()}
	if req.Name != nil {
		name := strings.TrimSpace(*req.Name)
		changes.Name = &name
	}
	if req.Email != nil && emailKey(*req.Email) != u.EmailKey {
		if req.CurrentPassword == "" {
			return auth.User{}, auth.ErrInvalidRequest.WithFields(apperr.FieldError{
				Field: "current_password", Reason: "required", Detail: "is required to change the email"})
		}
		if err := s.checkCurrentPassword(ctx, u, req.CurrentPassword); err != nil {
			return auth.User{}, err
		}
		key := emailKey(*req.Email)
		changes.Email, changes.EmailKey = req.Email, &key
	} else if req.Email != nil {
		changes.Email = req.Email // only its case changes
	}
	if err := s.store.updateUser(ctx, u.ID, changes); err != nil {
		return auth.User{}, apperr.OrInternal(err, "update user")
	}
	return s.Me(ctx)
}

// ChangePassword implements auth.Service.
func (s *Service) ChangePassword(ctx context.Context, req auth.ChangePasswordRequest) error {
	p, err := requireUser(ctx)
	if err != nil {
		return err
	}
	if err := s.validate.Struct(auth.ErrInvalidRequest.Reason, req); err != nil {
		return err
	}
	u, err := s.store.user(ctx, p.Subject)
	if err != nil {
		return err
	}
	if err := s.checkCurrentPassword(ctx, u, req.CurrentPassword); err != nil {
		return err
	}
	if err := checkPassword("new_password", req.NewPassword, u.Email); err != nil {
		return err
	}
	hash, err := s.hasher.hash(ctx, req.NewPassword)
	if err != nil {
		return apperr.OrInternal(err, "hash password")
	}
	now := s.now()
	notBefore := s.revoked.Next(u.ID, now)
	err = s.store.write(ctx, func(tx storeTx) error {
		if err := tx.setPassword(ctx, u.ID, hash, now); err != nil {
			return err
		}
		// Whoever knew the old password may hold a session: end them all,
		// and their access tokens with them.
		if err := tx.revokeUserTokens(ctx, u.ID, now); err != nil {
			return err
		}
		return recordTokensRevoked(ctx, tx, u.ID, notBefore, "password_changed")
	})
	if err != nil {
		return apperr.Internal(fmt.Errorf("change password: %w", err))
	}
	s.revoked.Revoke(u.ID, notBefore)
	return nil
}

// ListUsers implements auth.Service.
func (s *Service) ListUsers(ctx context.Context, req auth.ListUsersRequest) (auth.UserList, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return auth.UserList{}, err
	}
	if err := s.validate.Struct(auth.ErrInvalidRequest.Reason, req); err != nil {
		return auth.UserList{}, err
	}
	limit := req.Limit
	if limit == 0 {
		limit = auth.DefaultLimit
	}
	rows, err := s.store.listUsers(ctx, req.Cursor, limit+1)
	if err != nil {
		return auth.UserList{}, err
	}
	out := auth.UserList{Users: make([]auth.User, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			out.NextCursor = rows[i-1].ID
			break
		}
		out.Users = append(out.Users, toUser(r))
	}
	return out, nil
}

// SetRoles implements auth.Service.
func (s *Service) SetRoles(ctx context.Context, req auth.SetRolesRequest) (auth.User, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return auth.User{}, err
	}
	if err := s.validate.Struct(auth.ErrInvalidRequest.Reason, req); err != nil {
		return auth.User{}, err
	}
	roles, err := normalizeRoles(req.Roles)
	if err != nil {
		return auth.User{}, err
	}
	var out userRow
	var demoted bool
	notBefore := s.revoked.Next(req.UserID, s.now())
	err = s.store.write(ctx, func(tx storeTx) error {
		u, err := tx.user(ctx, req.UserID)
		if err != nil {
			return err
		}
		if slices.Contains(u.Roles, authn.RoleAdmin) && !slices.Contains(roles, authn.RoleAdmin) {
			admins, err := tx.countAdmins(ctx)
			if err != nil {
				return err
			}
			if admins <= 1 {
				return auth.ErrLastAdmin
			}
		}
		// Demoted: a privileged role or a scope taken away. Guest is every
		// user's base role, so trading it for staff or admin is a promotion.
		demoted = !subset(s.scopesOf(u.Roles), s.scopesOf(roles)) ||
			slices.ContainsFunc(u.Roles, func(r string) bool { return r != authn.RoleGuest && !slices.Contains(roles, r) })
		u.Roles, u.UpdatedAt = roles, s.now()
		if err := tx.setRoles(ctx, u); err != nil {
			return err
		}
		out = u
		if !demoted {
			return nil // earlier tokens grant less than the user may do now: harmless
		}
		// Tokens carry roles and scopes: those issued before a role was
		// taken away must not keep it (a refresh gets the new ones).
		return recordTokensRevoked(ctx, tx, u.ID, notBefore, "roles_changed")
	})
	if err != nil {
		return auth.User{}, apperr.OrInternal(err, "set roles")
	}
	if demoted {
		s.revoked.Revoke(out.ID, notBefore)
	}
	return toUser(out), nil
}

// checkCurrentPassword checks a signed-in user's current_password under the
// same pacing as sign-in, keyed by account: a stolen session must not be a
// way to guess the password, nor to make the server run argon2 without
// limit. A throttled attempt is refused before any hashing.
func (s *Service) checkCurrentPassword(ctx context.Context, u userRow, password string) error {
	key := "user:" + u.ID
	if err := s.throttled(key); err != nil {
		return err
	}
	ok, _, err := s.hasher.verify(ctx, password, u.PasswordHash)
	if err != nil {
		return apperr.OrInternal(err, "check password")
	}
	if !ok {
		s.throttle.fail(key, s.now())
		return auth.ErrWrongPassword
	}
	s.throttle.succeed(key)
	return nil
}

// throttled is ErrTooManyAttempts, with Retry-After in whole seconds, while
// key must wait; nil when it may try.
func (s *Service) throttled(key string) error {
	if wait := s.throttle.wait(key, s.now()); wait > 0 {
		secs := (wait + time.Second - 1) / time.Second
		return auth.ErrTooManyAttempts.WithRetryAfter(secs * time.Second)
	}
	return nil
}

// signInKey is the throttle key of sign-ins for email from clientIP: the
// pacing is per (account, source), so an attacker's failures from one
// address do not lock the owner out when they sign in from another.
func signInKey(email, clientIP string) string {
	return "signin:" + emailKey(email) + "|" + clientIP
}

// authenticate checks an email and password. An unknown email and a wrong
// password get the same error after the same work (a password hash), and
// both count towards the (email, clientIP) throttle.
func (s *Service) authenticate(ctx context.Context, email, password, clientIP string) (userRow, error) {
	key := signInKey(email, clientIP)
	if err := s.throttled(key); err != nil {
		return userRow{}, err
	}
	u, found, err := s.store.userByEmail(ctx, emailKey(email))
	if err != nil {
		return userRow{}, err
	}
	if !found {
		if err := s.hasher.verifyDummy(ctx, password); err != nil {
			return userRow{}, apperr.OrInternal(err, "check password")
		}
		s.throttle.fail(key, s.now())
		return userRow{}, auth.ErrInvalidCredentials
	}
	ok, stale, err := s.hasher.verify(ctx, password, u.PasswordHash)
	if err != nil {
		return userRow{}, apperr.OrInternal(err, "check password")
	}
	if !ok {
		s.throttle.fail(key, s.now())
		return userRow{}, auth.ErrInvalidCredentials
	}
	s.throttle.succeed(key)
	if stale {
		// Made with older cost parameters: upgrade it while the password is at hand.
		if hash, err := s.hasher.hash(ctx, password); err == nil {
			if err := s.store.rehashPassword(ctx, u.ID, hash); err != nil {
				s.log.WarnContext(ctx, "re-hash password", "user", u.ID, "error", err)
			}
		}
	}
	return u, nil
}

// SignIn implements auth.Service.
func (s *Service) SignIn(ctx context.Context, req auth.SignInRequest) (auth.Tokens, error) {
	if err := s.validate.Struct(auth.ErrInvalidRequest.Reason, req); err != nil {
		return auth.Tokens{}, err
	}
	u, err := s.authenticate(ctx, req.Email, req.Password, req.ClientIP)
	if err != nil {
		return auth.Tokens{}, err
	}
	return s.issueUserTokens(ctx, u, auth.SessionClientID, "", "", nil, true)
}

// SignOut implements auth.Service.
func (s *Service) SignOut(ctx context.Context, req auth.SignOutRequest) error {
	if err := s.validate.Struct(auth.ErrInvalidRequest.Reason, req); err != nil {
		return err
	}
	rt, found, err := s.store.refreshToken(ctx, hashSecret(req.RefreshToken))
	if err != nil {
		return err
	}
	if !found || rt.ClientID != auth.SessionClientID {
		return nil // nothing to end: the same answer as for an ended session
	}
	// The session's access tokens carry its id ("sid"): they stop working
	// with it, everywhere; the user's other sessions go on.
	return s.revokeFamily(ctx, rt.FamilyID)
}

// Roles and scope reach the principal from the user row: a token carries
// what the user may do now, not what they could when the family started.
func (s *Service) userPrincipal(u userRow, scopes []string) authn.Principal {
	return authn.Principal{Subject: u.ID, Kind: authn.KindUser, Email: u.Email, Name: u.Name, Roles: slices.Clone(u.Roles), Scopes: scopes}
}
