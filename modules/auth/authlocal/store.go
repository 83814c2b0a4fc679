package authlocal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/events"
)

// The auth module's tables. Secrets (refresh tokens, authorization codes,
// consent tickets, client secrets) are stored only as the hex SHA-256 of a
// 256-bit random value: a copy of the database lets nobody use them.

type userRow struct {
	ID           string   `gorm:"primaryKey;size:64"`
	Email        string   `gorm:"size:254;not null"`                 // as the user typed it
	EmailKey     string   `gorm:"size:254;not null;uniqueIndex"`     // trimmed and lower-cased: unique, compared case-insensitively
	Name         string   `gorm:"size:200;not null"`                 //
	PasswordHash string   `gorm:"size:256;not null"`                 // argon2id, PHC string format
	Roles        []string `gorm:"serializer:json;size:100;not null"` //
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (userRow) TableName() string { return "users" }

type clientRow struct {
	ID           string   `gorm:"primaryKey;size:64"`
	Name         string   `gorm:"size:100;not null"`
	SecretHash   string   `gorm:"size:64;not null"` // "" for public clients
	Confidential bool     `gorm:"not null"`
	FirstParty   bool     `gorm:"not null"`
	RedirectURIs []string `gorm:"column:redirect_uris;serializer:json;not null"`
	Scopes       []string `gorm:"serializer:json;not null"`
	GrantTypes   []string `gorm:"serializer:json;not null"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (clientRow) TableName() string { return "oauth_clients" }

// refreshTokenRow is one refresh token of a family: the tokens that rotation
// descends from one sign-in or one authorization. Each works once (UsedAt);
// presenting a used one revokes the family (RFC 9700 §4.14.2).
type refreshTokenRow struct {
	Hash     string `gorm:"primaryKey;size:64"`
	FamilyID string `gorm:"size:64;not null;index"`
	UserID   string `gorm:"size:64;not null;index"`
	ClientID string `gorm:"size:64;not null;index"`
	// Scope is the space-separated grant of the family; for sessions it is
	// empty and the user's roles decide on every refresh.
	Scope     string `gorm:"size:2000;not null"`
	CreatedAt time.Time
	ExpiresAt time.Time `gorm:"not null;index"`
	UsedAt    *time.Time
	RevokedAt *time.Time
}

func (refreshTokenRow) TableName() string { return "refresh_tokens" }

// Kinds of grantRow.
const (
	grantCode    = "code"    // an authorization code, exchanged at the token endpoint
	grantConsent = "consent" // a consent ticket, answered on the consent page
)

// grantRow is a short-lived, single-use step of the authorization flow.
type grantRow struct {
	Hash          string `gorm:"primaryKey;size:64"`
	Kind          string `gorm:"size:16;not null"`
	UserID        string `gorm:"size:64;not null"`
	ClientID      string `gorm:"size:64;not null;index"`
	RedirectURI   string `gorm:"column:redirect_uri;size:2000;not null"`
	Scope         string `gorm:"size:2000;not null"`
	CodeChallenge string `gorm:"size:128;not null"`
	// FamilyID is the refresh-token family issued for the code, revoked if
	// the code is presented again (RFC 6749 §4.1.2).
	FamilyID  string `gorm:"size:64;not null"`
	CreatedAt time.Time
	ExpiresAt time.Time `gorm:"not null;index"`
	UsedAt    *time.Time
}

func (grantRow) TableName() string { return "oauth_grants" }

// signingKeyRow is an Ed25519 signing key. The newest key not retired signs;
// retired keys stay published in the JWKS until every token they signed has
// expired, then they are deleted.
//
// The private key is stored as it is. In production it should be encrypted
// at rest by a KMS (envelope encryption, the data key never stored in this
// database) or kept in an HSM; the database holding it is then no longer
// enough to mint tokens.
type signingKeyRow struct {
	KID        string `gorm:"column:kid;primaryKey;size:64"`
	Alg        string `gorm:"size:16;not null"`
	PrivateKey []byte `gorm:"not null"` // the 32-byte Ed25519 seed
	PublicKey  []byte `gorm:"not null"`
	CreatedAt  time.Time
	RetiredAt  *time.Time
}

func (signingKeyRow) TableName() string { return "signing_keys" }

// Migrations are the auth module's schema steps, in order: its own, then the
// event backbone's outbox, inbox and dead letters.
var Migrations = append([]db.Migration{
	{ID: "0001_auth", Up: func(tx *gorm.DB) error {
		return tx.Migrator().CreateTable(&userRow{}, &clientRow{}, &refreshTokenRow{}, &grantRow{}, &signingKeyRow{})
	}},
}, events.Migrations...)

// gormStore is the store on the module's GORM database, its queries below
// by table; bound to a transaction, it is a storeTx.
type gormStore struct {
	db     *gorm.DB
	outbox *events.Outbox // runs writing transactions on db, then wakes the relay
}

func (s *gormStore) write(ctx context.Context, fn func(tx storeTx) error) error {
	return s.outbox.Transaction(ctx, func(tx *gorm.DB) error { return fn(&gormStore{db: tx}) })
}

// record adds an event of the auth module to the outbox, in the transaction.
func (s *gormStore) record(ctx context.Context, typ string, payload any) error {
	evt, err := events.New(ctx, auth.Module, typ, payload)
	if err != nil {
		return err
	}
	return events.Record(s.db.WithContext(ctx), evt)
}

// take reads the row query finds into a T: found false if there is none,
// an internal error naming what on any other failure.
func take[T any](query *gorm.DB, what string) (T, bool, error) {
	var row T
	switch err := query.Take(&row).Error; {
	case errors.Is(err, gorm.ErrRecordNotFound):
		var zero T
		return zero, false, nil
	case err != nil:
		var zero T
		return zero, false, apperr.Internal(fmt.Errorf("load %s: %w", what, err))
	}
	return row, true, nil
}

// The users table's queries.

func (s *gormStore) user(ctx context.Context, id string) (userRow, error) {
	u, found, err := take[userRow](s.db.WithContext(ctx).Where("id = ?", id), "user")
	if err == nil && !found {
		return userRow{}, auth.ErrUserNotFound
	}
	return u, err
}

func (s *gormStore) userByEmail(ctx context.Context, key string) (userRow, bool, error) {
	return take[userRow](s.db.WithContext(ctx).Where("email_key = ?", key), "user")
}

func (s *gormStore) emailOwner(ctx context.Context, key string) (userRow, bool, error) {
	return take[userRow](s.db.WithContext(ctx).Select("id", "email", "name").Where("email_key = ?", key), "user")
}

func (s *gormStore) listUsers(ctx context.Context, afterID string, limit int) ([]userRow, error) {
	var rows []userRow
	q := db.Filter(s.db.WithContext(ctx).Order("id").Limit(limit), db.IfSet("id > ?", afterID))
	if err := q.Find(&rows).Error; err != nil {
		return nil, apperr.Internal(fmt.Errorf("list users: %w", err))
	}
	return rows, nil
}

func (s *gormStore) insertUser(ctx context.Context, row userRow) error {
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		if db.IsUniqueViolation(err) {
			return auth.ErrEmailTaken
		}
		return err
	}
	return nil
}

// userChanges are the columns of a user to update; nil leaves one as it is.
type userChanges struct {
	Name, Email, EmailKey *string
	UpdatedAt             time.Time
}

func (s *gormStore) updateUser(ctx context.Context, id string, c userChanges) error {
	changes := map[string]any{"updated_at": c.UpdatedAt}
	for column, v := range map[string]*string{"name": c.Name, "email": c.Email, "email_key": c.EmailKey} {
		if v != nil {
			changes[column] = *v
		}
	}
	err := s.db.WithContext(ctx).Model(&userRow{}).Where("id = ?", id).Updates(changes).Error
	if db.IsUniqueViolation(err) {
		return auth.ErrEmailTaken
	}
	return err
}

func (s *gormStore) rehashPassword(ctx context.Context, id, hash string) error {
	return s.db.WithContext(ctx).Model(&userRow{}).Where("id = ?", id).Update("password_hash", hash).Error
}

func (s *gormStore) setPassword(ctx context.Context, id, hash string, now time.Time) error {
	return s.db.WithContext(ctx).Model(&userRow{}).Where("id = ?", id).Updates(map[string]any{"password_hash": hash, "updated_at": now}).Error
}

func (s *gormStore) setRoles(ctx context.Context, u userRow) error {
	return s.db.WithContext(ctx).Model(&userRow{}).Where("id = ?", u.ID).Select("roles", "updated_at").Updates(&u).Error
}

func (s *gormStore) countAdmins(ctx context.Context) (int, error) {
	var admins int64
	if err := s.db.WithContext(ctx).Model(&userRow{}).Where("roles LIKE ?", `%"admin"%`).Count(&admins).Error; err != nil {
		return 0, err
	}
	return int(admins), nil
}

// The OAuth clients table's queries.

func (s *gormStore) client(ctx context.Context, id string) (clientRow, error) {
	c, found, err := take[clientRow](s.db.WithContext(ctx).Where("id = ?", id), "client")
	if err == nil && !found {
		return clientRow{}, auth.ErrClientNotFound
	}
	return c, err
}

func (s *gormStore) clients(ctx context.Context) ([]clientRow, error) {
	var rows []clientRow
	if err := s.db.WithContext(ctx).Order("name, id").Find(&rows).Error; err != nil {
		return nil, apperr.Internal(fmt.Errorf("list clients: %w", err))
	}
	return rows, nil
}

func (s *gormStore) insertClient(ctx context.Context, row clientRow) error {
	return s.db.WithContext(ctx).Create(&row).Error
}

func (s *gormStore) updateClient(ctx context.Context, row clientRow) error {
	return s.db.WithContext(ctx).Model(&clientRow{}).Where("id = ?", row.ID).
		Select("name", "first_party", "redirect_uris", "scopes", "updated_at").Updates(&row).Error
}

func (s *gormStore) saveServiceClient(ctx context.Context, row clientRow) error {
	res := s.db.WithContext(ctx).Model(&clientRow{}).Where("id = ?", row.ID).
		Select("name", "secret_hash", "confidential", "redirect_uris", "scopes", "grant_types", "updated_at").Updates(&row)
	if res.Error != nil || res.RowsAffected > 0 {
		return res.Error
	}
	err := s.db.WithContext(ctx).Create(&row).Error
	if db.IsUniqueViolation(err) {
		return errors.New("created concurrently: start again")
	}
	return err
}

func (s *gormStore) deleteClient(ctx context.Context, id string) (bool, error) {
	res := s.db.WithContext(ctx).Delete(&clientRow{}, "id = ?", id)
	return res.RowsAffected > 0, res.Error
}

// The queries of the refresh tokens and of the authorization flow's grants
// (codes and consent tickets). Both are looked up by the hash of their
// secret, and used up by a guarded update that only one caller wins.

func (s *gormStore) refreshToken(ctx context.Context, hash string) (refreshTokenRow, bool, error) {
	return take[refreshTokenRow](s.db.WithContext(ctx).Where("hash = ?", hash), "refresh token")
}

func (s *gormStore) insertRefreshToken(ctx context.Context, row refreshTokenRow) error {
	return s.db.WithContext(ctx).Create(&row).Error
}

func (s *gormStore) claimRefreshToken(ctx context.Context, hash string, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&refreshTokenRow{}).
		Where("hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?", hash, now).Update("used_at", now)
	return res.RowsAffected > 0, res.Error
}

func (s *gormStore) refreshTokenUsed(ctx context.Context, hash string) (bool, error) {
	_, used, err := take[refreshTokenRow](s.db.WithContext(ctx).Where("hash = ? AND used_at IS NOT NULL", hash), "refresh token")
	return used, err
}

func (s *gormStore) familyUser(ctx context.Context, family string) (string, error) {
	rt, _, err := take[refreshTokenRow](s.db.WithContext(ctx).Where("family_id = ?", family), "refresh token")
	return rt.UserID, err
}

func (s *gormStore) revokeFamilyTokens(ctx context.Context, family string, now time.Time) error {
	return s.db.WithContext(ctx).Model(&refreshTokenRow{}).Where("family_id = ? AND revoked_at IS NULL", family).Update("revoked_at", now).Error
}

func (s *gormStore) revokeUserTokens(ctx context.Context, userID string, now time.Time) error {
	return s.db.WithContext(ctx).Model(&refreshTokenRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", now).Error
}

func (s *gormStore) revokeClientTokens(ctx context.Context, clientID string, now time.Time) error {
	return s.db.WithContext(ctx).Model(&refreshTokenRow{}).Where("client_id = ? AND revoked_at IS NULL", clientID).Update("revoked_at", now).Error
}

func (s *gormStore) grant(ctx context.Context, hash, kind string) (grantRow, bool, error) {
	return take[grantRow](s.db.WithContext(ctx).Where("hash = ? AND kind = ?", hash, kind), kind)
}

func (s *gormStore) insertGrant(ctx context.Context, g grantRow) error {
	return s.db.WithContext(ctx).Create(&g).Error
}

func (s *gormStore) claimCode(ctx context.Context, hash, family string, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&grantRow{}).Where("hash = ? AND kind = ? AND used_at IS NULL", hash, grantCode).
		Updates(map[string]any{"used_at": now, "family_id": family})
	return res.RowsAffected > 0, res.Error
}

func (s *gormStore) claimConsent(ctx context.Context, hash string, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&grantRow{}).Where("hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ?", hash, grantConsent, now).
		Update("used_at", now)
	return res.RowsAffected > 0, res.Error
}

func (s *gormStore) clientSessions(ctx context.Context, clientID string, since time.Time) ([]string, error) {
	var refreshed, exchanged []string
	err := s.db.WithContext(ctx).Model(&refreshTokenRow{}).Where("client_id = ? AND created_at >= ?", clientID, since).
		Distinct().Order("family_id").Pluck("family_id", &refreshed).Error
	if err != nil {
		return nil, err
	}
	err = s.db.WithContext(ctx).Model(&grantRow{}).Where("client_id = ? AND kind = ? AND family_id <> '' AND used_at >= ?", clientID, grantCode, since).
		Distinct().Order("family_id").Pluck("family_id", &exchanged).Error
	if err != nil {
		return nil, err
	}
	sessions := append(refreshed, exchanged...)
	slices.Sort(sessions)
	return slices.Compact(sessions), nil
}

func (s *gormStore) deleteClientGrants(ctx context.Context, clientID string) error {
	return s.db.WithContext(ctx).Delete(&grantRow{}, "client_id = ?", clientID).Error
}

// The signing keys table's queries.

// keysPublishedOrder lists the keys not retired first (the newest of them
// signs), then the retired ones, the most recently retired first.
const keysPublishedOrder = "CASE WHEN retired_at IS NULL THEN 0 ELSE 1 END, retired_at DESC, created_at DESC, kid"

func (s *gormStore) publishedKeys(ctx context.Context, retiredAfter time.Time) ([]signingKeyRow, error) {
	var rows []signingKeyRow
	err := s.db.WithContext(ctx).Where("retired_at IS NULL OR retired_at > ?", retiredAfter).
		Order(keysPublishedOrder).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	return rows, nil
}

func (s *gormStore) publishedKeyInfo(ctx context.Context, retiredAfter time.Time) ([]signingKeyRow, error) {
	var rows []signingKeyRow
	err := s.db.WithContext(ctx).Select("kid", "alg", "created_at", "retired_at").
		Where("retired_at IS NULL OR retired_at > ?", retiredAfter).
		Order(keysPublishedOrder).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return rows, nil
}

func (s *gormStore) retireSigningKeys(ctx context.Context, now time.Time) error {
	return s.db.WithContext(ctx).Model(&signingKeyRow{}).Where("retired_at IS NULL").Update("retired_at", now).Error
}

func (s *gormStore) deleteSigningKeysRetiredBy(ctx context.Context, t time.Time) error {
	return s.db.WithContext(ctx).Where("retired_at IS NOT NULL AND retired_at <= ?", t).Delete(&signingKeyRow{}).Error
}

func (s *gormStore) insertSigningKey(ctx context.Context, row signingKeyRow) error {
	return s.db.WithContext(ctx).Create(&row).Error
}
