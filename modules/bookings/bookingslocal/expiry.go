package bookingslocal

import (
	"context"
	"fmt"

	"github.com/bellhop/bellhop/modules/bookings"
)

// expiryBatch is how many expired holds one round of expireHolds reads.
const expiryBatch = 100

// expireHolds expires the pending bookings whose hold has run out, each in a
// transaction of its own (status expired, rooms released, booking.expired),
// and returns how many it expired.
func (s *Service) expireHolds(ctx context.Context) (int, error) {
	expired := 0
	for {
		now := s.now()
		ids, err := s.store.expiredHolds(ctx, now, expiryBatch)
		if err != nil {
			return expired, err
		}
		for _, id := range ids {
			done := false
			err := s.write(ctx, func(tx storeTx) error {
				done = false
				row, err := tx.booking(ctx, id)
				if err != nil {
					return err
				}
				if row.Status != bookings.StatusPending || row.HoldExpiresAt.After(now) {
					return nil // paid or cancelled meanwhile
				}
				done = true
				return transition(ctx, tx, &row, bookings.StatusExpired, now, nil)
			})
			if err != nil {
				return expired, fmt.Errorf("expire %s: %w", id, err)
			}
			if done {
				expired++
			}
		}
		if len(ids) < expiryBatch {
			return expired, nil
		}
	}
}
