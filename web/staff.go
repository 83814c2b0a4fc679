package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/money"
)

type staffHomeData struct {
	City    string
	Cities  []search.City
	Hotels  []search.HotelResult
	Checked bool
}

// staffHome lists a city's hotels (search answers by city only) with links
// to manage them, and the ways to add one and see bookings.
func (w *Web) staffHome(c echo.Context) error {
	ctx := c.Request().Context()
	d := staffHomeData{City: strings.TrimSpace(c.QueryParam("city"))}
	v := view{Title: "Hotels · Staff · Bellhop", Data: &d}
	if cities, err := w.d.Search.ListCities(ctx, search.ListCitiesRequest{Limit: 12}); err == nil {
		d.Cities = cities.Cities
	}
	if d.City != "" {
		d.Checked = true
		tomorrow := civil.Today(time.UTC).AddDays(1)
		res, err := w.d.Search.SearchHotels(ctx, search.SearchRequest{City: d.City, CheckIn: tomorrow, CheckOut: tomorrow.AddDays(1),
			Guests: 1, Sort: search.SortStars, Limit: search.MaxLimit})
		if err != nil {
			v.Errors, v.Field, v.Banner = formErrors(err, [][2]string{{"city", "City"}}, map[string]string{search.ErrUnknownCity.Reason: "city"})
		} else {
			d.Hotels = res.Hotels
		}
	}
	return w.render(c, http.StatusOK, "staff", v)
}

type hotelForm struct {
	Name, City, Country, Address, TimeZone, Stars, Rating, Description, Amenities string
}

var hotelLabels = [][2]string{{"name", "Hotel name"}, {"city", "City"}, {"country", "Country code"}, {"address", "Address"},
	{"time_zone", "Time zone"}, {"stars", "Stars"}, {"rating", "Guest rating"}, {"description", "Description"}, {"amenities", "Amenities"}}

func hotelFormOf(c echo.Context) hotelForm {
	return hotelForm{Name: c.FormValue("name"), City: c.FormValue("city"), Country: strings.ToUpper(strings.TrimSpace(c.FormValue("country"))),
		Address: c.FormValue("address"), TimeZone: strings.TrimSpace(c.FormValue("time_zone")), Stars: c.FormValue("stars"),
		Rating: c.FormValue("rating"), Description: c.FormValue("description"), Amenities: c.FormValue("amenities")}
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (w *Web) newHotelPage(c echo.Context) error {
	return w.render(c, http.StatusOK, "hotel_new", view{Title: "Add a hotel · Staff · Bellhop", Data: &hotelForm{Stars: "3", TimeZone: "Europe/Lisbon"}})
}

func (w *Web) createHotel(c echo.Context) error {
	f := hotelFormOf(c)
	stars, serr := strconv.Atoi(f.Stars)
	rating, rerr := strconv.ParseFloat(strings.TrimSpace(f.Rating), 64)
	var bad []*apperr.Error
	if serr != nil {
		bad = append(bad, invalid("stars", "number", "must be a whole number from 1 to 5"))
	}
	if rerr != nil && strings.TrimSpace(f.Rating) != "" {
		bad = append(bad, invalid("rating", "number", "must be a number from 0 to 5, like 4.5"))
	}
	err := joinInvalid(bad...)
	var h search.Hotel
	if err == nil {
		h, err = w.d.Search.CreateHotel(c.Request().Context(), search.CreateHotelRequest{Name: f.Name, City: f.City, Country: f.Country,
			Address: f.Address, TimeZone: f.TimeZone, Stars: stars, Rating: rating, Description: f.Description, Amenities: splitList(f.Amenities)})
	}
	if err != nil {
		v := view{Title: "Add a hotel · Staff · Bellhop", Data: &f}
		v.Errors, v.Field, v.Banner = formErrors(err, hotelLabels, nil)
		return w.render(c, statusOf(err), "hotel_new", v)
	}
	return redirect(c, "/staff/hotels/"+url.PathEscape(h.ID)+"?created=1")
}

type staffHotelData struct {
	Hotel    search.Hotel
	Form     hotelForm
	RoomForm roomTypeForm
}

type roomTypeForm struct {
	Name, MaxGuests, RoomsTotal, BaseRate, Currency string
}

var roomTypeLabels = [][2]string{{"rt_name", "Room type name"}, {"max_guests", "Guests per room"}, {"rooms_total", "Number of rooms"},
	{"base_rate", "Price per night"}, {"currency", "Currency"}}

// staffHotelPage edits a hotel and lists its room types, with a form to add one.
func (w *Web) staffHotelPage(c echo.Context) error {
	return w.renderStaffHotel(c, http.StatusOK, view{}, nil, nil)
}

func (w *Web) renderStaffHotel(c echo.Context, status int, v view, f *hotelForm, rf *roomTypeForm) error {
	h, err := w.d.Search.GetHotel(c.Request().Context(), search.GetHotelRequest{ID: c.Param("id")})
	if err != nil {
		return w.fail(c, err)
	}
	d := staffHotelData{Hotel: h, RoomForm: roomTypeForm{MaxGuests: "2", RoomsTotal: "10", Currency: "EUR"}}
	if len(h.RoomTypes) > 0 {
		d.RoomForm.Currency = h.RoomTypes[0].BaseRate.Currency
	}
	d.Form = hotelForm{Name: h.Name, City: h.City, Country: h.Country, Address: h.Address, TimeZone: h.TimeZone,
		Stars: strconv.Itoa(h.Stars), Rating: strconv.FormatFloat(h.Rating, 'f', -1, 64), Description: h.Description, Amenities: strings.Join(h.Amenities, ", ")}
	if f != nil {
		d.Form = *f
	}
	if rf != nil {
		d.RoomForm = *rf
	}
	switch {
	case c.QueryParam("created") == "1":
		v.Notice = "The hotel is added. Now add its room types"
	case c.QueryParam("saved") == "1":
		v.Notice = "Your changes are saved"
	case c.QueryParam("room") == "1":
		v.Notice = "The room type is added"
	}
	v.Title, v.Data = h.Name+" · Staff · Bellhop", &d
	return w.render(c, status, "staff_hotel", v)
}

func (w *Web) updateHotel(c echo.Context) error {
	f := hotelFormOf(c)
	req := search.UpdateHotelRequest{ID: c.Param("id"), Name: &f.Name, Address: &f.Address, TimeZone: &f.TimeZone, Description: &f.Description}
	am := splitList(f.Amenities)
	req.Amenities = &am
	var bad []*apperr.Error
	if s, err := strconv.Atoi(f.Stars); err == nil {
		req.Stars = &s
	} else {
		bad = append(bad, invalid("stars", "number", "must be a whole number from 1 to 5"))
	}
	if r, err := strconv.ParseFloat(strings.TrimSpace(f.Rating), 64); err == nil {
		req.Rating = &r
	} else {
		bad = append(bad, invalid("rating", "number", "must be a number from 0 to 5, like 4.5"))
	}
	err := joinInvalid(bad...)
	if err == nil {
		_, err = w.d.Search.UpdateHotel(c.Request().Context(), req)
	}
	if err != nil {
		v := view{}
		v.Errors, v.Field, v.Banner = formErrors(err, hotelLabels, nil)
		return w.renderStaffHotel(c, statusOf(err), v, &f, nil)
	}
	return redirect(c, "/staff/hotels/"+url.PathEscape(c.Param("id"))+"?saved=1")
}

// parseAmount reads "129.50" as minor units of currency.
func parseAmount(field, s, currency string) (int64, *apperr.Error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, invalid(field, "required", "")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, invalid(field, "number", "must be an amount greater than 0, like 129.50")
	}
	scale := 1.0
	for range money.MinorUnits(currency) {
		scale *= 10
	}
	return int64(f*scale + 0.5), nil
}

func (w *Web) createRoomType(c echo.Context) error {
	rf := roomTypeForm{Name: c.FormValue("rt_name"), MaxGuests: c.FormValue("max_guests"), RoomsTotal: c.FormValue("rooms_total"),
		BaseRate: c.FormValue("base_rate"), Currency: strings.ToUpper(strings.TrimSpace(c.FormValue("currency")))}
	var bad []*apperr.Error
	maxGuests, err1 := strconv.Atoi(rf.MaxGuests)
	if err1 != nil {
		bad = append(bad, invalid("max_guests", "number", "must be a whole number"))
	}
	rooms, err2 := strconv.Atoi(rf.RoomsTotal)
	if err2 != nil {
		bad = append(bad, invalid("rooms_total", "number", "must be a whole number"))
	}
	if !money.IsCurrency(rf.Currency) {
		bad = append(bad, invalid("currency", "currency", "must be a currency code such as EUR"))
	}
	amount, e := parseAmount("base_rate", rf.BaseRate, rf.Currency)
	if e != nil {
		bad = append(bad, e)
	}
	err := joinInvalid(bad...)
	if err == nil {
		_, err = w.d.Search.CreateRoomType(c.Request().Context(), search.CreateRoomTypeRequest{HotelID: c.Param("id"), Name: rf.Name,
			MaxGuests: maxGuests, RoomsTotal: rooms, BaseRate: money.New(amount, rf.Currency)})
	}
	if err != nil {
		// The service names the room type's name "name"; the form, "rt_name".
		if ae := apperr.As(err); len(ae.Fields) > 0 {
			for i := range ae.Fields {
				if ae.Fields[i].Field == "name" {
					ae.Fields[i].Field = "rt_name"
				}
			}
			err = ae
		}
		v := view{}
		v.Errors, v.Field, v.Banner = formErrors(err, roomTypeLabels, map[string]string{search.ErrRoomTypeExists.Reason: "rt_name"})
		return w.renderStaffHotel(c, statusOf(err), v, nil, &rf)
	}
	return redirect(c, "/staff/hotels/"+url.PathEscape(c.Param("id"))+"?room=1")
}

// calendarDay is one day of a rates calendar.
type calendarDay struct {
	Date     civil.Date
	InMonth  bool
	Price    money.Money
	Override bool
	Past     bool
}

type ratesData struct {
	Hotel      search.Hotel
	RoomType   search.RoomType
	Month      time.Time
	Weeks      [][]calendarDay
	PrevMonth  string
	NextMonth  string
	From, To   string
	Amount     string
	Weekdays   map[int]bool
	WeekdaySet []struct {
		Day  int
		Name string
	}
}

var rateLabels = [][2]string{{"from", "From"}, {"to", "To"}, {"amount", "Price per night"}, {"weekdays", "Days of the week"}}

// ratesPage is a month calendar of a room type's nightly prices (the base
// rate, or the override set on that date) with a bulk edit: one price for a
// range of dates, on chosen days of the week.
func (w *Web) ratesPage(c echo.Context) error {
	return w.renderRates(c, http.StatusOK, view{}, nil)
}

func (w *Web) renderRates(c echo.Context, status int, v view, form *ratesData) error {
	h, err := w.d.Search.GetHotel(c.Request().Context(), search.GetHotelRequest{ID: c.Param("id")})
	if err != nil {
		return w.fail(c, err)
	}
	var rt *search.RoomType
	for i := range h.RoomTypes {
		if h.RoomTypes[i].ID == c.Param("rt") {
			rt = &h.RoomTypes[i]
		}
	}
	if rt == nil {
		return w.fail(c, search.ErrRoomTypeNotFound)
	}
	today := civil.Today(time.UTC)
	month := time.Date(today.Year, today.Month, 1, 0, 0, 0, 0, time.UTC)
	if m, err := time.Parse("2006-01", c.QueryParam("month")); err == nil {
		month = m
	}
	overrides := map[civil.Date]int64{}
	for _, r := range rt.Rates {
		overrides[r.Date] = r.Amount
	}
	d := ratesData{Hotel: h, RoomType: *rt, Month: month, PrevMonth: month.AddDate(0, -1, 0).Format("2006-01"),
		NextMonth: month.AddDate(0, 1, 0).Format("2006-01"), Weekdays: map[int]bool{}}
	for i, n := range []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} {
		d.WeekdaySet = append(d.WeekdaySet, struct {
			Day  int
			Name string
		}{(i + 1) % 7, n})
	}
	// Weeks start on Monday.
	start := civil.Of(month).AddDays(-((int(month.Weekday()) + 6) % 7))
	for day := start; ; {
		var week []calendarDay
		for range 7 {
			cd := calendarDay{Date: day, InMonth: day.Month == month.Month(), Past: day.Before(today), Price: rt.BaseRate}
			if a, ok := overrides[day]; ok {
				cd.Price, cd.Override = money.New(a, rt.BaseRate.Currency), true
			}
			week = append(week, cd)
			day = day.AddDays(1)
		}
		d.Weeks = append(d.Weeks, week)
		if day.Month != month.Month() && (day.Year > month.Year() || day.Month > month.Month()) {
			break
		}
	}
	if form != nil {
		d.From, d.To, d.Amount, d.Weekdays = form.From, form.To, form.Amount, form.Weekdays
	} else {
		first := civil.Of(month)
		if first.Before(today) {
			first = today
		}
		d.From, d.To = first.String(), civil.Of(month.AddDate(0, 1, -1)).String()
		for i := range 7 {
			d.Weekdays[i] = true
		}
	}
	if c.QueryParam("saved") != "" && v.Notice == "" {
		v.Notice = c.QueryParam("saved") + " nightly prices are saved"
	}
	v.Title = rt.Name + " rates, " + month.Format("January 2006") + " · Staff · Bellhop"
	v.Data = &d
	return w.render(c, status, "rates", v)
}

func (w *Web) setRates(c echo.Context) error {
	form := &ratesData{From: c.FormValue("from"), To: c.FormValue("to"), Amount: c.FormValue("amount"), Weekdays: map[int]bool{}}
	vals, _ := c.FormParams()
	for _, s := range vals["weekdays"] {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < 7 {
			form.Weekdays[n] = true
		}
	}
	h, err := w.d.Search.GetHotel(c.Request().Context(), search.GetHotelRequest{ID: c.Param("id")})
	if err != nil {
		return w.fail(c, err)
	}
	currency := ""
	for _, rt := range h.RoomTypes {
		if rt.ID == c.Param("rt") {
			currency = rt.BaseRate.Currency
		}
	}
	var bad []*apperr.Error
	from, e1 := parseDate("from", form.From)
	to, e2 := parseDate("to", form.To)
	amount, e3 := parseAmount("amount", form.Amount, currency)
	bad = append(bad, e1, e2, e3)
	if e1 == nil && e2 == nil && to.Before(from) {
		bad = append(bad, invalid("to", "before_from", "must be on or after the first date"))
	}
	if len(form.Weekdays) == 0 {
		bad = append(bad, invalid("weekdays", "required", ""))
	}
	var rates []search.Rate
	if joinInvalid(bad...) == nil {
		for d := from; !d.After(to); d = d.AddDays(1) {
			if form.Weekdays[int(d.In(time.UTC).Weekday())] {
				rates = append(rates, search.Rate{Date: d, Amount: amount})
			}
		}
		if len(rates) == 0 {
			bad = append(bad, invalid("weekdays", "none", "match no date between the first and the last date"))
		}
	}
	err = joinInvalid(bad...)
	if err == nil {
		_, err = w.d.Search.SetRates(c.Request().Context(), search.SetRatesRequest{RoomTypeID: c.Param("rt"), Rates: rates})
	}
	if err != nil {
		v := view{}
		v.Errors, v.Field, v.Banner = formErrors(err, rateLabels, nil)
		if v.Banner == "" && len(v.Errors) == 0 {
			v.Banner = sentence(apperr.As(err).Message)
		}
		if ae := apperr.As(err); len(v.Errors) == 0 && len(ae.Fields) > 0 {
			v.Banner = "Some dates could not be set: " + ae.Fields[0].Detail
		}
		return w.renderRates(c, statusOf(err), v, form)
	}
	month := from.In(time.UTC).Format("2006-01")
	return redirect(c, "/staff/hotels/"+url.PathEscape(c.Param("id"))+"/room-types/"+url.PathEscape(c.Param("rt"))+
		"/rates?month="+month+"&saved="+strconv.Itoa(len(rates)))
}

var staffBookingLabels = [][2]string{{"status", "Status"}, {"hotel_id", "Hotel id"}, {"from", "Check-in from"}, {"to", "Check-in before"}}

// staffBookings lists every guest's bookings with filters, a page at a time.
func (w *Web) staffBookings(c echo.Context) error {
	q := c.QueryParams()
	req := bookings.ListRequest{Status: q.Get("status"), HotelID: strings.TrimSpace(q.Get("hotel_id")), Cursor: q.Get("cursor"), Limit: 25}
	d := listData{Filter: req}
	v := view{Title: "Bookings · Staff · Bellhop", Data: &d}
	var bad []*apperr.Error
	if s := q.Get("from"); s != "" {
		var e *apperr.Error
		if req.From, e = parseDate("from", s); e != nil {
			bad = append(bad, e)
		}
	}
	if s := q.Get("to"); s != "" {
		var e *apperr.Error
		if req.To, e = parseDate("to", s); e != nil {
			bad = append(bad, e)
		}
	}
	d.Filter = req
	err := joinInvalid(bad...)
	var list bookings.BookingList
	if err == nil {
		list, err = w.d.Bookings.List(c.Request().Context(), req)
	}
	if err != nil {
		if apperr.CodeOf(err) == apperr.CodeForbidden {
			return w.fail(c, err)
		}
		v.Errors, v.Field, v.Banner = formErrors(err, staffBookingLabels, nil)
		return w.render(c, statusOf(err), "staff_bookings", v)
	}
	d.Bookings = list.Bookings
	filter := url.Values{}
	for _, k := range []string{"status", "hotel_id", "from", "to"} {
		if q.Get(k) != "" {
			filter.Set(k, q.Get(k))
		}
	}
	if list.NextCursor != "" {
		next := url.Values{}
		for k, vs := range filter {
			next[k] = vs
		}
		next.Set("cursor", list.NextCursor)
		d.NextURL = "/staff/bookings?" + next.Encode()
	}
	if req.Cursor != "" {
		d.FirstURL = "/staff/bookings?" + filter.Encode()
	}
	return w.render(c, http.StatusOK, "staff_bookings", v)
}
