package httpserver_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// Paging is exported: BindQuery allocates only embedded structs it can set.
type Paging struct {
	Limit int    `query:"limit"`
	After string `query:"after"`
}

type pagingPtrQuery struct {
	*Paging
	City string `query:"city"`
}

type twiceTaggedQuery struct {
	A string `query:"x"`
	B string `query:"x"`
}

// BindQuery learns each struct type once (queryPlan): a struct embedding
// another by pointer gets it allocated and filled on every call, one it
// refuses is refused every time; the second call of each answers as the
// first.
func TestBindQuery_PlanEmbeddedPointerAndRefusal(t *testing.T) {
	t.Parallel()
	e := echo.New()
	bind := func(query string, dst any) error {
		c := e.NewContext(httptest.NewRequest(http.MethodGet, "/x?"+query, nil), httptest.NewRecorder())
		return httpserver.BindQuery(c, dst)
	}
	for i := range 2 {
		var q pagingPtrQuery
		if err := bind("city=Porto&limit=5&after=h1", &q); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if q.Paging == nil || q.Limit != 5 || q.After != "h1" || q.City != "Porto" {
			t.Errorf("call %d: bound %+v (paging %+v)", i, q, q.Paging)
		}
		var cityOnly pagingPtrQuery
		if err := bind("city=Lisbon", &cityOnly); err != nil || cityOnly.Paging == nil || cityOnly.Limit != 0 {
			t.Errorf("call %d: without paging parameters: %+v, %v (want the embedded struct allocated, empty)", i, cityOnly, err)
		}
		if err := bind("city=Lisbon&limit=x", &cityOnly); err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("call %d: a bad limit through the embedded pointer: %v", i, err)
		}
		var bad twiceTaggedQuery
		err := bind("x=1", &bad)
		if ae := apperr.As(err); ae == nil || ae.Code != apperr.CodeInternal || !strings.Contains(err.Error(), `two fields are tagged query:"x"`) {
			t.Errorf("call %d: twice-tagged struct: %v", i, err)
		}
	}
}
