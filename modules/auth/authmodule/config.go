package authmodule

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"net"
	"time"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/platform/config"
)

//go:embed config.yaml
var defaults []byte

// Config is the auth section of the configuration: how every process
// verifies tokens, how the auth module issues them where it runs, and this
// process's own service identity (config.yaml says what each key means).
type Config struct {
	JWKSFile        string           `mapstructure:"jwks_file"`
	JWKSURL         string           `mapstructure:"jwks_url"`
	Issuer          string           `mapstructure:"issuer"`
	Audience        string           `mapstructure:"audience"`
	AccessTokenTTL  time.Duration    `mapstructure:"access_token_ttl"`
	RefreshTokenTTL time.Duration    `mapstructure:"refresh_token_ttl"`
	PublicURL       string           `mapstructure:"public_url"`
	CSRFKey         string           `mapstructure:"csrf_key"`
	SignInRateLimit config.RateLimit `mapstructure:"sign_in_rate_limit"`
	TokenRateLimit  config.RateLimit `mapstructure:"token_rate_limit"`
	ClientID        string           `mapstructure:"client_id"`
	ClientSecret    string           `mapstructure:"client_secret"`
	ServiceClients  []ServiceClient  `mapstructure:"service_clients"`
}

// ServiceClient is a service identity the auth module creates at start.
type ServiceClient struct {
	ID     string   `mapstructure:"id"`
	Secret string   `mapstructure:"secret"`
	Scopes []string `mapstructure:"scopes"`
}

// Validate implements config.Section.
func (c *Config) Validate(p *config.Problems) {
	p.PositiveDuration("auth.access_token_ttl", c.AccessTokenTTL)
	p.PositiveDuration("auth.refresh_token_ttl", c.RefreshTokenTTL)
	if c.JWKSFile != "" && c.JWKSURL != "" {
		p.Add("auth", "set jwks_file or jwks_url, not both")
	}
	if c.JWKSURL != "" {
		if err := config.CheckHTTPURL(c.JWKSURL); err != nil {
			p.Add("auth.jwks_url", "%q %v", c.JWKSURL, err)
		}
	}
	if c.Issuer == "" || c.Audience == "" {
		p.Add("auth", "issuer and audience must not be empty")
	}
	if c.PublicURL != "" {
		if err := config.CheckHTTPURL(c.PublicURL); err != nil {
			p.Add("auth.public_url", "%q %v", c.PublicURL, err)
		}
	}
	if k := c.CSRFKey; k != "" {
		if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) < 32 {
			p.Add("auth.csrf_key", "must be base64 of at least 32 bytes (e.g. the output of `openssl rand -base64 32`)")
		}
	}
	for key, rl := range map[string]config.RateLimit{"auth.sign_in_rate_limit": c.SignInRateLimit, "auth.token_rate_limit": c.TokenRateLimit} {
		if rl.RPS <= 0 || rl.Burst < 1 {
			p.Add(key, "rps must be > 0 and burst >= 1 (got rps=%v burst=%d)", rl.RPS, rl.Burst)
		}
	}
	if (c.ClientID == "") != (c.ClientSecret == "") {
		p.Add("auth", "client_id and client_secret go together")
	}
	for i, sc := range c.ServiceClients {
		if sc.ID == "" || len(sc.Secret) < 32 {
			p.Add(fmt.Sprintf("auth.service_clients[%d]", i), "needs an id and a secret of at least 32 characters")
		}
	}
}

// Section declares the section to config.Load.
func Section() config.SectionSpec {
	return config.SectionSpec{Key: auth.Module, Defaults: defaults, New: func() config.Section { return &Config{} }}
}

// DefaultPublicURL sets public_url, when it is empty, to http://addr: the
// address this process listens on (the bound one, so port 0 works). The
// OAuth metadata and every absolute URL are built from it, never from a
// request's Host header.
func DefaultPublicURL(cfg *config.Config, addr string) {
	c, ok := config.SectionOf[*Config](cfg, auth.Module)
	if !ok || c.PublicURL != "" {
		return
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("localhost", port) // listening on every interface: name one that reaches it here
	}
	c.PublicURL = "http://" + addr
}

// Settings is the auth section of cfg (its zero value if cfg was loaded
// without it).
func Settings(cfg *config.Config) *Config {
	c, ok := config.SectionOf[*Config](cfg, auth.Module)
	if !ok {
		return &Config{}
	}
	return c
}
