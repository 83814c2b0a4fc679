package bookingsmodule

import (
	_ "embed"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/config"
)

//go:embed config.yaml
var defaults []byte

// Config is the bookings section of the configuration.
type Config struct {
	// HoldTTL is how long an unpaid hold keeps its rooms.
	HoldTTL time.Duration `mapstructure:"hold_ttl"`
	// ExpiryInterval is how often expired holds are released.
	ExpiryInterval time.Duration `mapstructure:"expiry_interval"`
	// MaxPendingHolds is how many unpaid holds one guest may have at once.
	MaxPendingHolds int `mapstructure:"max_pending_holds"`
	// HorizonMonths is how many months ahead a stay may start.
	HorizonMonths int `mapstructure:"horizon_months"`
}

// Validate implements config.Section.
func (c *Config) Validate(p *config.Problems) {
	p.PositiveDuration("bookings.hold_ttl", c.HoldTTL)
	p.PositiveDuration("bookings.expiry_interval", c.ExpiryInterval)
	if c.MaxPendingHolds < 1 || c.MaxPendingHolds > 1000 {
		p.Add("bookings.max_pending_holds", "must be between 1 and 1000 (got %d)", c.MaxPendingHolds)
	}
	if c.HorizonMonths < 1 || c.HorizonMonths > search.HorizonMonths {
		p.Add("bookings.horizon_months", "must be between 1 and %d, search's horizon (got %d)", search.HorizonMonths, c.HorizonMonths)
	}
}

// Section declares the section to config.Load.
func Section() config.SectionSpec {
	return config.SectionSpec{Key: bookings.Module, Defaults: defaults, New: func() config.Section { return &Config{} }}
}

// settings is the decoded section of cfg.
func settings(cfg *config.Config) *Config {
	c, ok := config.SectionOf[*Config](cfg, bookings.Module)
	if !ok {
		return &Config{}
	}
	return c
}
