package bookingsmodule

import (
	_ "embed"
	"time"

	"github.com/bellhop/bellhop/modules/bookings"
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
}

// Validate implements config.Section.
func (c *Config) Validate(p *config.Problems) {
	p.PositiveDuration("bookings.hold_ttl", c.HoldTTL)
	p.PositiveDuration("bookings.expiry_interval", c.ExpiryInterval)
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
