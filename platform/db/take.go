package db

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/apperr"
)

// TakeByID reads the row of type T whose id is id. A missing row is
// notFound (a module's own error, wrapped with the id); any other failure
// is an internal error naming what was read.
func TakeByID[T any](ctx context.Context, g *gorm.DB, what, id string, notFound error) (T, error) {
	var row T
	if err := g.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		var zero T
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return zero, fmt.Errorf("%s %s: %w", what, id, notFound)
		}
		return zero, apperr.Internal(fmt.Errorf("read %s %s: %w", what, id, err))
	}
	return row, nil
}
