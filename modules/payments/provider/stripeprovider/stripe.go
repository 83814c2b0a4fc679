// Package stripeprovider is the Stripe payment provider: a charge is a
// PaymentIntent created and confirmed in one call (confirm=true) with the
// payment method token and the charge's idempotency key as Stripe's
// Idempotency-Key, so a retried call never charges twice. Lookup finds the
// PaymentIntent by the key, which every PaymentIntent carries in its
// metadata. Refunds are Stripe refunds of the PaymentIntent.
//
// Bellhop never sees a card number: the brand, last four digits and expiry
// come from the charge's payment_method_details.
package stripeprovider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/money"
)

// Name is the provider's name in payments.
const Name = "stripe"

// MetadataKey is the PaymentIntent metadata entry holding Bellhop's
// idempotency key (for Lookup).
const MetadataKey = "bellhop_idempotency_key"

// Options configure the provider.
type Options struct {
	// APIKey is the secret key (sk_test_... or sk_live_...).
	APIKey string
	// BaseURL is the API's base URL ("" means Stripe's); tests point it at
	// stripe-mock.
	BaseURL string
	// HTTPClient's transport and timeout are used when set (default:
	// platform/httpclient's transport, 30s timeout; the guard's per-attempt
	// timeout is normally shorter). Whatever it says, redirects are not
	// followed and answers are bounded to MaxResponseSize.
	HTTPClient *http.Client
}

// MaxResponseSize bounds what is read of one Stripe answer (Stripe's
// largest, a search page of one expanded PaymentIntent, is a few kB).
const MaxResponseSize = 1 << 20

// DefaultTimeout bounds one HTTP call when Options.HTTPClient is not set.
const DefaultTimeout = 30 * time.Second

// Provider is Stripe as a provider.Provider.
type Provider struct {
	client *stripe.Client
}

var _ provider.Provider = (*Provider)(nil)

// New returns the Stripe provider. Stripe's own retries are off: the guard
// (provider.Guard) retries with the same idempotency key.
func New(o Options) (*Provider, error) {
	if strings.TrimSpace(o.APIKey) == "" {
		return nil, errors.New("stripeprovider: an API key is required")
	}
	hc := safeClient(o.HTTPClient)
	cfg := &stripe.BackendConfig{
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		EnableTelemetry:   stripe.Bool(false),
	}
	if o.BaseURL != "" {
		cfg.URL = stripe.String(strings.TrimSuffix(o.BaseURL, "/"))
	}
	return &Provider{client: stripe.NewClient(o.APIKey, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))}, nil
}

// safeClient is base (or platform/httpclient's transport with
// DefaultTimeout) made safe to trust with the secret key: a redirect is an
// error, not followed (it would re-send the charge, with the key, to another
// address), and an answer longer than MaxResponseSize fails rather than being
// read whole.
func safeClient(base *http.Client) *http.Client {
	hc := &http.Client{Transport: httpclient.NewTransport(), Timeout: DefaultTimeout}
	if base != nil {
		hc.Transport, hc.Timeout, hc.Jar = base.Transport, base.Timeout, base.Jar
		if hc.Transport == nil {
			hc.Transport = http.DefaultTransport
		}
	}
	hc.Transport = httpclient.LimitResponses(refuseRedirects{hc.Transport}, MaxResponseSize)
	hc.CheckRedirect = httpclient.NoRedirects
	return hc
}

// errRedirected: Stripe's API never redirects, so an answer that does is not
// Stripe's.
var errRedirected = errors.New("stripe: the API answered with a redirect, not followed")

type refuseRedirects struct{ rt http.RoundTripper }

func (r refuseRedirects) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if err == nil && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		resp.Body.Close()
		return nil, fmt.Errorf("%w (%d)", errRedirected, resp.StatusCode)
	}
	return resp, err
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return Name }

// Charge implements provider.Provider: a PaymentIntent for card payments,
// confirmed at once, failing rather than asking for 3-D Secure (Bellhop has
// no page to send the guest to).
func (p *Provider) Charge(ctx context.Context, req provider.ChargeRequest) (provider.ChargeResult, error) {
	params := &stripe.PaymentIntentCreateParams{
		Amount:                stripe.Int64(req.Amount.Amount),
		Currency:              stripe.String(strings.ToLower(req.Amount.Currency)),
		PaymentMethod:         stripe.String(req.PaymentMethod),
		PaymentMethodTypes:    []*string{stripe.String("card")},
		Confirm:               stripe.Bool(true),
		ErrorOnRequiresAction: stripe.Bool(true),
	}
	if req.Description != "" {
		params.Description = stripe.String(req.Description)
	}
	params.AddMetadata(MetadataKey, req.IdempotencyKey)
	params.AddExpand("latest_charge")
	params.SetIdempotencyKey(req.IdempotencyKey)
	pi, err := p.client.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		return chargeError(err)
	}
	return intentResult(pi)
}

// Lookup implements provider.Provider by searching PaymentIntents for the
// key in their metadata. Stripe's search index lags writes by up to a
// minute, so a recent charge may be ErrNotFound for a while: the reconciler
// only settles "not found" as not charged after a grace period.
func (p *Provider) Lookup(ctx context.Context, key string) (provider.ChargeResult, error) {
	if strings.ContainsAny(key, `'\`) {
		return provider.ChargeResult{}, provider.Rejected(fmt.Errorf("stripe: idempotency key %q cannot be searched for", key))
	}
	params := &stripe.PaymentIntentSearchParams{}
	params.Query = fmt.Sprintf("metadata['%s']:'%s'", MetadataKey, key)
	params.Limit = stripe.Int64(1)
	params.AddExpand("data.latest_charge")
	for pi, err := range p.client.V1PaymentIntents.Search(ctx, params) {
		if err != nil {
			_, cerr := chargeError(err)
			return provider.ChargeResult{}, cerr
		}
		return intentResult(pi)
	}
	return provider.ChargeResult{}, fmt.Errorf("stripe: payment intent with key %q: %w", key, provider.ErrNotFound)
}

// Refund implements provider.Provider: a refund of the PaymentIntent.
func (p *Provider) Refund(ctx context.Context, key, providerRef string, amount money.Money) (provider.RefundResult, error) {
	params := &stripe.RefundCreateParams{
		PaymentIntent: stripe.String(providerRef),
		Amount:        stripe.Int64(amount.Amount),
	}
	params.SetIdempotencyKey(key)
	r, err := p.client.V1Refunds.Create(ctx, params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.Code == stripe.ErrorCodeResourceMissing {
			return provider.RefundResult{}, fmt.Errorf("stripe: %s: %w", se.Msg, provider.ErrNotFound)
		}
		return provider.RefundResult{}, classify(err)
	}
	res := provider.RefundResult{ProviderRef: r.ID, Status: string(r.Status),
		Amount: money.Money{Amount: r.Amount, Currency: strings.ToUpper(string(r.Currency))}}
	if r.PaymentIntent != nil {
		res.Charge = r.PaymentIntent.ID
	}
	return res, nil
}

// intentResult maps a PaymentIntent to the charge's outcome. A
// PaymentIntent still processing has no outcome yet: that is reported as
// ErrUnavailable (ask again later).
func intentResult(pi *stripe.PaymentIntent) (provider.ChargeResult, error) {
	r := provider.ChargeResult{ProviderRef: pi.ID, Reference: pi.Metadata[MetadataKey]}
	if pi.Currency != "" {
		r.Amount = money.Money{Amount: pi.Amount, Currency: strings.ToUpper(string(pi.Currency))}
	}
	if ch := pi.LatestCharge; ch != nil && ch.PaymentMethodDetails != nil && ch.PaymentMethodDetails.Card != nil {
		c := ch.PaymentMethodDetails.Card
		r.Card = &payments.Card{Brand: string(c.Brand), Last4: c.Last4, ExpMonth: int(c.ExpMonth), ExpYear: int(c.ExpYear)}
	}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		r.Status = provider.StatusSucceeded
	case stripe.PaymentIntentStatusRequiresPaymentMethod, stripe.PaymentIntentStatusCanceled:
		r.Status = provider.StatusFailed
		r.FailureCode, r.FailureMessage = failure(pi.LastPaymentError)
	case stripe.PaymentIntentStatusRequiresAction:
		r.Status = provider.StatusFailed
		r.FailureCode, r.FailureMessage = provider.CodeAuthenticationNeeded, "The card needs authentication, which is not supported; use another card."
	default: // processing, requires_capture, requires_confirmation
		return provider.ChargeResult{}, provider.Unavailable(fmt.Errorf("stripe: payment intent %s is %s", pi.ID, pi.Status))
	}
	return r, nil
}

// failure is the code and guest-facing message of a payment error.
func failure(e *stripe.Error) (string, string) {
	if e == nil {
		return provider.CodeCardDeclined, "The payment failed."
	}
	code := string(e.Code)
	switch {
	case e.DeclineCode != "" && (code == "" || e.Code == stripe.ErrorCodeCardDeclined):
		// Stripe says card_declined with the reason in decline_code
		// (insufficient_funds, ...).
		code = string(e.DeclineCode)
	case code == "":
		code = provider.CodeCardDeclined
	}
	msg := e.Msg
	if msg == "" {
		msg = "The payment failed."
	}
	return code, msg
}

// chargeError maps an error of a charge call: a card error is a failed
// charge (an answer, not an error); an unknown payment method too.
func chargeError(err error) (provider.ChargeResult, error) {
	var se *stripe.Error
	if errors.As(err, &se) {
		switch {
		case se.Type == stripe.ErrorTypeCard:
			code, msg := failure(se)
			r := provider.ChargeResult{Status: provider.StatusFailed, FailureCode: code, FailureMessage: msg}
			if se.PaymentIntent != nil {
				r.ProviderRef = se.PaymentIntent.ID
			}
			return r, nil
		case se.Code == stripe.ErrorCodeResourceMissing && se.Param == "payment_method":
			return provider.ChargeResult{Status: provider.StatusFailed, FailureCode: provider.CodeInvalidPaymentMethod,
				FailureMessage: "The payment method is not valid."}, nil
		}
	}
	return provider.ChargeResult{}, classify(err)
}

// classify sorts Stripe's errors: no answer, overload or a concurrent
// request with the same key are ErrUnavailable (retry with the key); any
// other answer is ErrRejected.
func classify(err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return provider.Unavailable(fmt.Errorf("stripe: %w", err))
	}
	cause := fmt.Errorf("stripe: %s %s (%d, request %s): %s", se.Type, se.Code, se.HTTPStatusCode, se.RequestID, se.Msg)
	switch {
	case se.HTTPStatusCode == 0, se.HTTPStatusCode >= 500, se.HTTPStatusCode == http.StatusTooManyRequests,
		se.Code == stripe.ErrorCodeIdempotencyKeyInUse, se.Type == stripe.ErrorTypeAPI:
		return provider.Unavailable(cause)
	}
	return provider.Rejected(cause)
}
