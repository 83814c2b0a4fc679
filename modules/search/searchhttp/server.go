// Package searchhttp is the search module's HTTP transport: Register mounts
// its routes, and Client implements search.Service by calling them.
package searchhttp

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/httpserver"
)

// Routes, shared by the server and the client.
const (
	pathCities    = "/api/v1/cities"
	pathHotels    = "/api/v1/hotels"
	pathRoomTypes = "/api/v1/room-types"
	pathQuote     = "/internal/v1/search/quote"
)

// Options configure the routes; search has no settings of its own yet.
type Options struct{}

// Register mounts the search routes on g. Catalog changes need a token with
// the catalog:write scope and the quote route a service token with
// search:quote; the service checks again, so the rules hold in-process too.
func Register(g *echo.Group, svc search.Service, _ Options) error {
	h := handlers{svc: svc}
	catalogWrite := authn.RequireScopes(search.ScopeCatalogWrite)
	quoting := authn.RequireScopes(search.ScopeQuote)

	g.GET(pathCities, h.listCities)
	g.GET(pathHotels, h.searchHotels)
	g.GET(pathHotels+"/:id", h.getHotel)

	g.POST(pathHotels, h.createHotel, catalogWrite)
	g.PATCH(pathHotels+"/:id", h.updateHotel, catalogWrite)
	g.DELETE(pathHotels+"/:id", h.deleteHotel, catalogWrite)
	g.POST(pathHotels+"/:id/room-types", h.createRoomType, catalogWrite)
	g.PATCH(pathRoomTypes+"/:id", h.updateRoomType, catalogWrite)
	g.DELETE(pathRoomTypes+"/:id", h.deleteRoomType, catalogWrite)
	g.PUT(pathRoomTypes+"/:id/rates", h.setRates, catalogWrite)
	g.DELETE(pathRoomTypes+"/:id/rates/:date", h.deleteRate, catalogWrite)

	g.POST(pathQuote, h.quote, quoting)
	return nil
}

type handlers struct{ svc search.Service }

func (h handlers) listCities(c echo.Context) error {
	var req search.ListCitiesRequest
	if err := httpserver.BindQuery(c, &req); err != nil {
		return err
	}
	res, err := h.svc.ListCities(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) searchHotels(c echo.Context) error {
	req := search.SearchRequest{Guests: 1}
	if err := httpserver.BindQuery(c, &req); err != nil {
		return err
	}
	res, err := h.svc.SearchHotels(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, searchPage(res), err)
}

func (h handlers) getHotel(c echo.Context) error {
	res, err := h.svc.GetHotel(c.Request().Context(), search.GetHotelRequest{ID: c.Param("id")})
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) createHotel(c echo.Context) error {
	var req search.CreateHotelRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	res, err := h.svc.CreateHotel(c.Request().Context(), req)
	return httpserver.RespondCreated(c, pathHotels+"/"+res.ID, res, err)
}

func (h handlers) updateHotel(c echo.Context) error {
	var req search.UpdateHotelRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	req.ID = c.Param("id")
	res, err := h.svc.UpdateHotel(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) deleteHotel(c echo.Context) error {
	err := h.svc.DeleteHotel(c.Request().Context(), search.DeleteHotelRequest{ID: c.Param("id")})
	return httpserver.RespondEmpty(c, err)
}

func (h handlers) createRoomType(c echo.Context) error {
	var req search.CreateRoomTypeRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	req.HotelID = c.Param("id")
	res, err := h.svc.CreateRoomType(c.Request().Context(), req)
	return httpserver.RespondCreated(c, pathRoomTypes+"/"+res.ID, res, err)
}

func (h handlers) updateRoomType(c echo.Context) error {
	var req search.UpdateRoomTypeRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	req.ID = c.Param("id")
	res, err := h.svc.UpdateRoomType(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) deleteRoomType(c echo.Context) error {
	err := h.svc.DeleteRoomType(c.Request().Context(), search.DeleteRoomTypeRequest{ID: c.Param("id")})
	return httpserver.RespondEmpty(c, err)
}

func (h handlers) setRates(c echo.Context) error {
	var req search.SetRatesRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	req.RoomTypeID = c.Param("id")
	res, err := h.svc.SetRates(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, res, err)
}

func (h handlers) deleteRate(c echo.Context) error {
	date, err := civil.Parse(c.Param("date"))
	if err != nil {
		return search.ErrInvalidRequest.WithFields(fieldErr("date", err.Error()))
	}
	err = h.svc.DeleteRate(c.Request().Context(), search.DeleteRateRequest{RoomTypeID: c.Param("id"), Date: date})
	return httpserver.RespondEmpty(c, err)
}

func (h handlers) quote(c echo.Context) error {
	var req search.QuoteRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		return err
	}
	res, err := h.svc.Quote(c.Request().Context(), req)
	return httpserver.Respond(c, http.StatusOK, res, err)
}
