package authlocal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/ids"
)

// Register implements auth.Service.
func (s *Service) Register(ctx context.Context, req auth.RegisterRequest) (auth.User, error) {
	return s.createUser(ctx, req, nil)
}

// createUser creates an account with roles (guest if none) and records
// its user.registered event in the same transaction.
func (s *Service) createUser(ctx context.Context, req auth.RegisterRequest, roles []string) (auth.User, error) {
	req.Email, req.Name = strings.TrimSpace(req.Email), strings.TrimSpace(req.Name)
	if err := validateRegistration(s.validate.Struct(auth.ErrInvalidRequest.Reason, req), req); err != nil {
		return auth.User{}, err
	}
	roles, err := normalizeRoles(roles)
	if err != nil {
		return auth.User{}, err
	}
	hash, err := s.hasher.hash(ctx, req.Password)
	if err != nil {
		return auth.User{}, apperr.OrInternal(err, "hash password")
	}
	now := s.now()
	row := userRow{
		ID: ids.New("usr"), Email: strings.TrimSpace(req.Email), EmailKey: emailKey(req.Email),
		Name: strings.TrimSpace(req.Name), PasswordHash: hash, Roles: roles, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.createUser(ctx, row); err != nil {
		return auth.User{}, apperr.OrInternal(err, "create user")
	}
	return toUser(row), nil
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

func (s *Service) userByID(ctx context.Context, g *gorm.DB, id string) (userRow, error) {
	var u userRow
	if err := g.WithContext(ctx).Where("id = ?", id).Take(&u).Error; err != nil {
		return userRow{}, notFound(err, auth.ErrUserNotFound, "user")
	}
	return u, nil
}

// Me implements auth.Service.
func (s *Service) Me(ctx context.Context) (auth.User, error) {
	p, err := requireUser(ctx)
	if err != nil {
		return auth.User{}, err
	}
	u, err := s.userByID(ctx, s.db.DB, p.Subject)
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
	u, err := s.userByID(ctx, s.db.DB, p.Subject)
	if err != nil {
		return auth.User{}, err
	}
	changes := map[string]any{"updated_at": s.now()}
	if req.Name != nil {
		changes["name"] = strings.TrimSpace(*req.Name)
	}
	if req.Email != nil && emailKey(*req.Email) != u.EmailKey {
		if req.CurrentPassword == "" {
			return auth.User{}, auth.ErrInvalidRequest.WithFields(apperr.FieldError{
				Field: "current_password", Reason: "required", Detail: "is required to change the email"})
		}
		if err := s.checkCurrentPassword(ctx, u, req.CurrentPassword); err != nil {
			return auth.User{}, err
		}
		changes["email"] = strings.TrimSpace(*req.Email)
		changes["email_key"] = emailKey(*req.Email)
	} else if req.Email != nil {
		changes["email"] = strings.TrimSpace(*req.Email) // only its case changes
	}
	err = s.db.WithContext(ctx).Model(&userRow{}).Where("id = ?", u.ID).Updates(changes).Error
	if db.IsUniqueViolation(err) {
		return auth.User{}, auth.ErrEmailTaken
	}
	if err != nil {
		return auth.User{}, apperr.Internal(fmt.Errorf("update user: %w", err))
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
	u, err := s.userByID(ctx, s.db.DB, p.Subject)
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
	err = s.store.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&userRow{}).Where("id = ?", u.ID).Updates(map[string]any{"password_hash": hash, "updated_at": now}).Error; err != nil {
			return err
		}
		// Whoever knew the old password may hold a session: end them all,
		// and their access tokens with them.
		if err := tx.Model(&refreshTokenRow{}).Where("user_id = ? AND revoked_at IS NULL", u.ID).Update("revoked_at", now).Error; err != nil {
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
	var rows []userRow
	q := s.db.WithContext(ctx).Order("id").Limit(limit + 1)
	if req.Cursor != "" {
		q = q.Where("id > ?", req.Cursor)
	}
	if err := q.Find(&rows).Error; err != nil {
		return auth.UserList{}, apperr.Internal(fmt.Errorf("list users: %w", err))
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
	err = s.store.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		u, err := s.userByID(ctx, tx, req.UserID)
		if err != nil {
			return err
		}
		if slices.Contains(u.Roles, authn.RoleAdmin) && !slices.Contains(roles, authn.RoleAdmin) {
			var admins int64
			if err := tx.Model(&userRow{}).Where("roles LIKE ?", `%"admin"%`).Count(&admins).Error; err != nil {
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
		if err := tx.Model(&userRow{}).Where("id = ?", u.ID).Select("roles", "updated_at").Updates(&u).Error; err != nil {
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
	var u userRow
	err := s.db.WithContext(ctx).Where("email_key = ?", emailKey(email)).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		if err := s.hasher.verifyDummy(ctx, password); err != nil {
			return userRow{}, apperr.OrInternal(err, "check password")
		}
		s.throttle.fail(key, s.now())
		return userRow{}, auth.ErrInvalidCredentials
	}
	if err != nil {
		return userRow{}, apperr.Internal(fmt.Errorf("load user: %w", err))
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
			err = s.db.WithContext(ctx).Model(&userRow{}).Where("id = ?", u.ID).Update("password_hash", hash).Error
			if err != nil {
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
	var rt refreshTokenRow
	err := s.db.WithContext(ctx).Where("hash = ?", hashSecret(req.RefreshToken)).Take(&rt).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && rt.ClientID != auth.SessionClientID) {
		return nil // nothing to end: the same answer as for an ended session
	}
	if err != nil {
		return apperr.Internal(fmt.Errorf("load refresh token: %w", err))
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
