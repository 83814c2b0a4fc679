package paymentsmodule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/payments/paymentsmodule"
	"github.com/bellhop/bellhop/platform/config"
)

func load() (*config.Config, error) {
	return config.Load(config.Options{
		Modules:  []string{"auth", "bookings", "payments", "search"},
		Sections: []config.SectionSpec{paymentsmodule.Section()},
	})
}

func TestConfig_Defaults(t *testing.T) {
	c, err := load()
	if err != nil {
		t.Fatal(err)
	}
	s, ok := config.SectionOf[*paymentsmodule.Config](c, "payments")
	if !ok {
		t.Fatal("no payments section")
	}
	if s.Provider != "sandbox" || s.ReconcileInterval != 30*time.Second || s.Guard.Attempts != 3 || s.RateLimit.RPS != 1 {
		t.Errorf("defaults wrong: %+v", s)
	}
}

// These cases were platform/config's until the section moved here.
func TestConfig_Invalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"upside-down bank latency", map[string]string{"BELLHOP_PAYMENTS_SANDBOX_LATENCY": "1s", "BELLHOP_PAYMENTS_SANDBOX_LATENCY_MAX": "200ms"}, "payments.sandbox.latency_max"},
		{"no provider attempts", map[string]string{"BELLHOP_PAYMENTS_GUARD_ATTEMPTS": "0"}, "payments.guard"},
		{"unknown provider", map[string]string{"BELLHOP_PAYMENTS_PROVIDER": "paypal"}, `payments.provider: "paypal" is not one of sandbox, stripe`},
		{"stripe without a key", map[string]string{"BELLHOP_PAYMENTS_PROVIDER": "stripe"}, "payments.stripe.api_key: is required with provider stripe"},
		{"no reconciling", map[string]string{"BELLHOP_PAYMENTS_RECONCILE_INTERVAL": "0s"}, "payments.reconcile_interval: must be a positive duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := load()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}
