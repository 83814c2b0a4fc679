package authlocal

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/modules/auth"
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

// store is the auth module's writes that record events: each goes through
// the outbox's transaction (commit, then wake the relay).
type store struct{ outbox *events.Outbox }

// createUser adds row and records its user.registered event in the same
// transaction. An email already registered is auth.ErrEmailTaken.
func (st store) createUser(ctx context.Context, row userRow) error {
	return st.outbox.Transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			if db.IsUniqueViolation(err) {
				return auth.ErrEmailTaken
			}
			return err
		}
		evt, err := events.New(ctx, auth.Module, auth.EventUserRegistered, auth.UserRegistered{
			UserID: row.ID, Email: row.Email, Name: row.Name, Roles: row.Roles, RegisteredAt: row.CreatedAt,
		})
		if err != nil {
			return err
		}
		return events.Record(tx, evt)
	})
}

// recordTokensRevoked records, in tx, that userID's access tokens issued
// before notBefore are revoked (auth.EventTokensRevoked).
func recordTokensRevoked(ctx context.Context, tx *gorm.DB, userID string, notBefore time.Time, reason string) error {
	evt, err := events.New(ctx, auth.Module, auth.EventTokensRevoked, auth.TokensRevoked{
		UserID: userID, NotBefore: notBefore, Reason: reason,
	})
	if err != nil {
		return err
	}
	return events.Record(tx, evt)
}

// recordSessionEnded records, in tx, that the access tokens of session sid
// (userID's) are revoked (auth.EventTokensRevoked with a session id).
func recordSessionEnded(ctx context.Context, tx *gorm.DB, userID, sid string, endedAt time.Time) error {
	evt, err := events.New(ctx, auth.Module, auth.EventTokensRevoked, auth.TokensRevoked{
		UserID: userID, SessionID: sid, EndedAt: endedAt, Reason: "session_ended",
	})
	if err != nil {
		return err
	}
	return events.Record(tx, evt)
}
