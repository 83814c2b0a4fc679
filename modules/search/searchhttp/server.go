// Package searchhttp is the search module's HTTP transport: Register mounts
// its routes on any process that has a search.Service, and Client implements
// search.Service by calling those routes, so callers cannot tell the two apart.
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

// Register mounts the search routes on e. Catalog changes need a token with
// the catalog:write scope and the quote route a service token with
// search:quote; the service checks again, so the rules hold in-process too.
func Register(e *echo.Echo, svc search.Service) {
	h := handlers{svc: svc}
	write := authn.RequireScopes(search.ScopeCatalogWrite)

	e.GET(pathCities, h.listCities)
	e.GET(pathHotels, h.searchHotels)
	e.GET(pathHotels+"/:id", h.getHotel)

	e.POST(pathHotels, h.createHotel, write)
	e.PATCH(pathHotels+"/:id", h.updateHotel, write)
	e.DELETE(pathHotels+"/:id", h.deleteHotel, write)
	e.POST(pathHotels+"/:id/room-types", h.createRoomType, write)
	e.PATCH(pathRoomTypes+"/:id", h.updateRoomType, write)
	e.DELETE(pathRoomTypes+"/:id", h.deleteRoomType, write)
	e.PUT(pathRoomTypes+"/:id/rates", h.setRates, write)
	e.DELETE(pathRoomTypes+"/:id/rates/:date", h.deleteRate, write)

	e.POST(pathQuote, h.quote, authn.RequireScopes(search.ScopeQuote))
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
	return httpserver.Respond(c, http.StatusOK, res, err)
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
	if err == nil {
		c.Response().Header().Set(echo.HeaderLocation, pathHotels+"/"+res.ID)
	}
	return httpserver.Respond(c, http.StatusCreated, res, err)
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
	if err == nil {
		c.Response().Header().Set(echo.HeaderLocation, pathRoomTypes+"/"+res.ID)
	}
	return httpserver.Respond(c, http.StatusCreated, res, err)
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
