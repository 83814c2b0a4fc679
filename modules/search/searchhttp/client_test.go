package searchhttp_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/modules/search/internal/searchfixture"
	"github.com/bellhop/bellhop/modules/search/searchhttp"
	"github.com/bellhop/bellhop/modules/search/searchlocal"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/httpclient"
	"github.com/bellhop/bellhop/platform/httpclient/httpclienttest"
	"github.com/bellhop/bellhop/platform/httpserver/httpservertest"
	"github.com/bellhop/bellhop/platform/observability/contractcov"
)

// serve hosts svc's routes on a loopback port, verifying tokens from iss.
func serve(t *testing.T, svc search.Service, iss *authntest.Issuer) string {
	t.Helper()
	return httpservertest.Serve(t, iss.Verifier().Middleware(), func(e *echo.Echo) {
		if err := searchhttp.Register(e.Group(""), svc, searchhttp.Options{}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestClient runs the search contract through searchhttp.Client talking to
// searchhttp.Register(searchlocal) over loopback: same assertions as in-process.
func TestClient(t *testing.T) {
	searchtest.RunContract(t, func(t *testing.T, iss *authntest.Issuer) searchtest.Target {
		url := serve(t, searchfixture.NewModule(t, searchlocal.Deps{}).Service(), iss)
		c, err := searchhttp.NewClient(url, httpclient.Options{Caller: "test", Timeout: 5 * time.Second, ServiceTokens: contextToken{}})
		if err != nil {
			t.Fatal(err)
		}
		return searchtest.Target{Service: c}
	})
}

// A Client that leaves a method unimplemented fails the contract suite,
// which names the method (the suite runs in a child process here).
func TestClient_UnimplementedMethodFailsTheSuite(t *testing.T) {
	const broken = "SEARCH_CONTRACT_BROKEN_CLIENT"
	if os.Getenv(broken) == "" {
		out := contractcov.RunFailing(t, "TestClient_UnimplementedMethodFailsTheSuite", broken)
		if !strings.Contains(out, "search.ListCities never answered successfully in the contract suite") {
			t.Fatalf("the suite did not name the unimplemented method:\n%s", out)
		}
		return
	}
	searchtest.RunContract(t, func(t *testing.T, iss *authntest.Issuer) searchtest.Target {
		url := serve(t, searchfixture.NewModule(t, searchlocal.Deps{}).Service(), iss)
		c, err := searchhttp.NewClient(url, httpclient.Options{Caller: "test", Timeout: 5 * time.Second, ServiceTokens: contextToken{}})
		if err != nil {
			t.Fatal(err)
		}
		return searchtest.Target{Service: withoutListCities{c}}
	})
}

// withoutListCities is a Client whose ListCities was never written.
type withoutListCities struct{ search.Service }

func (withoutListCities) ListCities(context.Context, search.ListCitiesRequest) (search.CityList, error) {
	return search.CityList{}, errors.New("searchhttp: ListCities is not implemented")
}

// contextToken sends the context's principal as the service token on
// /internal routes: the suite calls Quote as the bookings service, which is
// what a calling module does in-process (its service identity travels in the
// context) and what its client-credentials token says over HTTP.
type contextToken struct{}

func (contextToken) Token(ctx context.Context) (string, error) {
	p, _ := authn.FromContext(ctx)
	return p.Token, nil
}

// A search process that is not there is unavailable, quickly.
func TestClient_Unavailable(t *testing.T) {
	t.Parallel()
	httpclienttest.CheckUnreachable(t, searchhttp.NewClient, map[string]func(context.Context, *searchhttp.Client) error{
		"GetHotel": func(ctx context.Context, c *searchhttp.Client) error {
			_, err := c.GetHotel(ctx, search.GetHotelRequest{ID: "htl_1"})
			return err
		},
	})
}
