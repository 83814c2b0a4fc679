package paymentsmodule

import (
	_ "embed"
	"time"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/platform/config"
)

//go:embed config.yaml
var defaults []byte

// Config is the payments section of the configuration (config.yaml says
// what each key means).
type Config struct {
	Provider          string           `mapstructure:"provider"`
	ReconcileInterval time.Duration    `mapstructure:"reconcile_interval"`
	NotFoundGrace     time.Duration    `mapstructure:"not_found_grace"`
	StaleAfter        time.Duration    `mapstructure:"stale_after"`
	RateLimit         config.RateLimit `mapstructure:"rate_limit"`
	// Guard: timeouts, retries and the circuit breaker around provider calls.
	Guard struct {
		AttemptTimeout  time.Duration `mapstructure:"attempt_timeout"`
		Attempts        int           `mapstructure:"attempts"`
		BreakerFailures int           `mapstructure:"breaker_failures"`
		BreakerOpen     time.Duration `mapstructure:"breaker_open"`
	} `mapstructure:"guard"`
	Sandbox struct {
		Latency     time.Duration `mapstructure:"latency"`
		LatencyMax  time.Duration `mapstructure:"latency_max"`
		FailureRate float64       `mapstructure:"failure_rate"`
	} `mapstructure:"sandbox"`
	Stripe struct {
		APIKey  string `mapstructure:"api_key"`
		BaseURL string `mapstructure:"base_url"`
	} `mapstructure:"stripe"`
}

// Validate implements config.Section.
func (c *Config) Validate(p *config.Problems) {
	p.PositiveDuration("payments.reconcile_interval", c.ReconcileInterval)
	switch c.Provider {
	case "sandbox":
	case "stripe":
		if c.Stripe.APIKey == "" {
			p.Add("payments.stripe.api_key", "is required with provider stripe (set BELLHOP_PAYMENTS_STRIPE_API_KEY)")
		}
	default:
		p.Add("payments.provider", "%q is not one of sandbox, stripe", c.Provider)
	}
	if u := c.Stripe.BaseURL; u != "" {
		if err := config.CheckHTTPURL(u); err != nil {
			p.Add("payments.stripe.base_url", "%q %v", u, err)
		}
	}
	if fr := c.Sandbox.FailureRate; fr < 0 || fr > 1 {
		p.Add("payments.sandbox.failure_rate", "must be between 0 and 1 (got %v)", fr)
	}
	if c.Sandbox.Latency < 0 {
		p.Add("payments.sandbox.latency", "must not be negative")
	}
	if c.StaleAfter < 0 {
		p.Add("payments.stale_after", "must not be negative")
	}
	if c.NotFoundGrace < 0 {
		p.Add("payments.not_found_grace", "must not be negative")
	}
	if g := c.Guard; g.AttemptTimeout <= 0 || g.Attempts < 1 || g.Attempts > 10 || g.BreakerFailures < 1 || g.BreakerOpen <= 0 {
		p.Add("payments.guard", "attempt_timeout and breaker_open must be positive, attempts 1 to 10, breaker_failures at least 1")
	}
	if lm := c.Sandbox.LatencyMax; lm != 0 && lm < c.Sandbox.Latency {
		p.Add("payments.sandbox.latency_max", "must be 0 (a fixed latency) or at least payments.sandbox.latency (%s)", c.Sandbox.Latency)
	}
	if rl := c.RateLimit; rl.RPS <= 0 || rl.Burst < 1 {
		p.Add("payments.rate_limit", "rps must be > 0 and burst >= 1 (got rps=%v burst=%d)", rl.RPS, rl.Burst)
	}
}

// Section declares the section to config.Load.
func Section() config.SectionSpec {
	return config.SectionSpec{Key: payments.Module, Defaults: defaults, New: func() config.Section { return &Config{} }}
}

// settings is the decoded section of cfg.
func settings(cfg *config.Config) *Config {
	c, ok := config.SectionOf[*Config](cfg, payments.Module)
	if !ok {
		return &Config{}
	}
	return c
}
