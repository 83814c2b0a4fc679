package authn

import (
	"sync"
	"time"
)

// Revocations remembers, per subject, the time before which that subject's
// access tokens no longer count ("not before"): set when a user's roles or
// password change, so a token issued earlier loses its power at once rather
// than when it expires; and the sign-in sessions that ended (signed out, or
// their refresh token revoked or replayed), whose tokens ("sid") no longer
// count, while the user's other sessions go on. A Verifier given it
// (WithRevocations) refuses such tokens, remembered ones included. An entry
// is dropped once every token it could refuse has expired (keep, the
// access-token lifetime plus leeway). It is safe for concurrent use; a nil
// *Revocations revokes nothing.
type Revocations struct {
	keep time.Duration
	now  func() time.Time

	mu       sync.RWMutex
	m        map[string]time.Time
	sessions map[string]time.Time // ended session id → when it ended
}

// NewRevocations returns an empty set whose entries are kept for keep (the
// longest an access token lives, leeway included), by the clock now (nil:
// time.Now; the issuer's clock, so entries age like its tokens).
func NewRevocations(keep time.Duration, now func() time.Time) *Revocations {
	if now == nil {
		now = time.Now
	}
	return &Revocations{keep: keep, now: now, m: make(map[string]time.Time), sessions: make(map[string]time.Time)}
}

// Revoke makes subject's tokens issued before notBefore invalid. A later
// notBefore than the one held wins; an earlier one changes nothing (events
// may arrive twice or out of order).
func (r *Revocations) Revoke(subject string, notBefore time.Time) {
	if r == nil || subject == "" {
		return
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur, ok := r.m[subject]; ok && !notBefore.After(cur) {
		return
	}
	if !notBefore.Add(r.keep).After(now) {
		return // every token it could refuse has expired already
	}
	r.m[subject] = notBefore
	if len(r.m)%1024 == 0 {
		r.pruneLocked(now)
	}
}

// EndSession makes the tokens of session sid (their "sid" claim) invalid,
// whenever they were issued: an ended session issues no new ones. endedAt
// is when it ended, for dropping the entry once its tokens have expired.
func (r *Revocations) EndSession(sid string, endedAt time.Time) {
	if r == nil || sid == "" {
		return
	}
	now := r.now()
	if !endedAt.Add(r.keep).After(now) {
		return // every token of the session has expired already
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sessions[sid]; ok {
		return
	}
	r.sessions[sid] = endedAt
	if len(r.sessions)%1024 == 0 {
		r.pruneLocked(now)
	}
}

// SessionEnded reports whether session sid ended ("" never has).
func (r *Revocations) SessionEnded(sid string) bool {
	if r == nil || sid == "" {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.sessions[sid]
	return ok
}

// NotBefore is subject's not-before time, zero when none is held.
func (r *Revocations) NotBefore(subject string) time.Time {
	if r == nil {
		return time.Time{}
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.m[subject]
}

// Revoked reports whether a token of subject issued at issuedAt was revoked.
func (r *Revocations) Revoked(subject string, issuedAt time.Time) bool {
	nb := r.NotBefore(subject)
	return !nb.IsZero() && issuedAt.Before(nb)
}

// Next is the not-before time an issuer sets when it revokes subject's
// tokens at now. Token times have whole seconds, so it is a whole second
// later than every iat issued so far: after now's second and after the
// subject's current not-before (which tokens issued since may carry, see
// IssueTime). The issuer then passes it to Revoke (and to other processes).
func (r *Revocations) Next(subject string, now time.Time) time.Time {
	next := now.Truncate(time.Second).Add(time.Second)
	if nb := r.NotBefore(subject); !nb.IsZero() && !nb.Before(next) {
		next = nb.Add(time.Second)
	}
	return next
}

// IssueTime is the iat an issuer gives a new token of subject at now: now,
// or the subject's not-before time when that is later (up to a second or so
// ahead, well within any leeway), so a token issued right after a
// revocation is not refused by it.
func (r *Revocations) IssueTime(subject string, now time.Time) time.Time {
	if nb := r.NotBefore(subject); nb.After(now) {
		return nb
	}
	return now
}

func (r *Revocations) pruneLocked(now time.Time) {
	for s, nb := range r.m {
		if !nb.Add(r.keep).After(now) {
			delete(r.m, s)
		}
	}
	for sid, at := range r.sessions {
		if !at.Add(r.keep).After(now) {
			delete(r.sessions, sid)
		}
	}
}
