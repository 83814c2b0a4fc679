package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/ids"
	"github.com/bellhop/bellhop/platform/money"
)

func urlQuery(s string) string { return url.QueryEscape(s) }

// searchForm is the search bar as the guest filled it in.
type searchForm struct {
	City, CheckIn, CheckOut string
	Guests                  int
	MaxPrice                string // a whole amount in the city's currency
	Sort                    string
}

type searchData struct {
	Form     searchForm
	Cities   []search.City
	Result   *search.SearchResult
	Stay     template.URL // the stay's query string, for links to hotel pages (built here, escaped)
	NextURL  string
	FirstURL string
}

var searchLabels = [][2]string{{"city", "Destination"}, {"check_in", "Check-in date"}, {"check_out", "Check-out date"},
	{"guests", "Guests"}, {"max_price", "Highest price per night"}, {"sort", "Sort by"}}

// home is the search page without a search yet.
func (w *Web) home(c echo.Context) error { return w.searchPage(c) }

// searchPage shows the search bar and, once a city is given, a page of
// hotels; an htmx request for #results gets the results alone.
func (w *Web) searchPage(c echo.Context) error {
	ctx := c.Request().Context()
	q := c.QueryParams()
	today := civil.Today(time.UTC)
	f := searchForm{City: strings.TrimSpace(q.Get("city")), CheckIn: q.Get("check_in"), CheckOut: q.Get("check_out"),
		MaxPrice: strings.TrimSpace(q.Get("max_price")), Sort: q.Get("sort"), Guests: 2}
	if f.CheckIn == "" {
		f.CheckIn = today.AddDays(1).String()
	}
	if f.CheckOut == "" {
		f.CheckOut = today.AddDays(3).String()
	}
	d := searchData{Form: f}
	v := view{Title: "Find a hotel · Bellhop", Data: &d}
	if cities, err := w.d.Search.ListCities(ctx, search.ListCitiesRequest{Limit: 12}); err == nil {
		d.Cities = cities.Cities
	}
	if f.City == "" {
		if c.Request().URL.Path == "/search" && q.Has("city") {
			v.Errors, v.Field, _ = formErrors(invalid("city", "required", ""), searchLabels, nil)
			return w.render(c, http.StatusUnprocessableEntity, "search", v)
		}
		return w.render(c, http.StatusOK, "search", v)
	}
	req := search.SearchRequest{City: f.City, Sort: f.Sort, Cursor: q.Get("cursor"), Limit: 10}
	var bad []*apperr.Error
	if g := q.Get("guests"); g != "" {
		n, err := strconv.Atoi(g)
		if err != nil {
			bad = append(bad, invalid("guests", "number", "must be a whole number"))
		}
		d.Form.Guests = n
	}
	req.Guests = d.Form.Guests
	var err *apperr.Error
	if req.CheckIn, err = parseDate("check_in", f.CheckIn); err != nil {
		bad = append(bad, err)
	}
	if req.CheckOut, err = parseDate("check_out", f.CheckOut); err != nil {
		bad = append(bad, err)
	}
	if f.MaxPrice != "" {
		p, perr := strconv.ParseFloat(f.MaxPrice, 64)
		if perr != nil || p < 0 {
			bad = append(bad, invalid("max_price", "number", "must be an amount such as 150"))
		}
		// The limit is in the city's currency; every demo currency has
		// cents except the yen, which the price filter treats alike.
		req.MaxPrice = int64(p * 100)
	}
	if e := joinInvalid(bad...); e != nil {
		v.Errors, v.Field, v.Banner = formErrors(e, searchLabels, nil)
		return w.render(c, http.StatusUnprocessableEntity, "search", v)
	}
	res, serr := w.d.Search.SearchHotels(ctx, req)
	if serr != nil {
		v.Errors, v.Field, v.Banner = formErrors(serr, searchLabels, map[string]string{
			search.ErrUnknownCity.Reason: "city", search.ErrInvalidStay.Reason: "check_in"})
		if search.ErrUnknownCity.Is(serr) || apperr.As(serr).Reason == search.ErrUnknownCity.Reason {
			v.Field["city"] = "We have no hotels in a city of that name. Choose one from the list"
			v.Errors = []fieldError{{Field: "city", Message: v.Field["city"]}}
		}
		return w.render(c, apperr.As(serr).Status(), "search", v)
	}
	d.Result = &res
	stay := url.Values{"check_in": {res.CheckIn.String()}, "check_out": {res.CheckOut.String()}, "guests": {strconv.Itoa(res.Guests)}}
	d.Stay = template.URL(stay.Encode()) // #nosec: url.Values.Encode escapes every value
	page := url.Values{"city": {f.City}, "check_in": {f.CheckIn}, "check_out": {f.CheckOut}, "guests": {strconv.Itoa(res.Guests)},
		"max_price": {f.MaxPrice}, "sort": {f.Sort}}
	if res.NextCursor != "" {
		next := url.Values{}
		for k, vs := range page {
			next[k] = vs
		}
		next.Set("cursor", res.NextCursor)
		d.NextURL = "/search?" + next.Encode()
	}
	if req.Cursor != "" {
		d.FirstURL = "/search?" + page.Encode()
	}
	v.Title = res.City.Name + " hotels, " + shortRange(res.CheckIn, res.CheckOut) + " · Bellhop"
	return w.render(c, http.StatusOK, "search", v)
}

func shortRange(a, b civil.Date) string {
	return a.In(time.UTC).Format("2 Jan") + "–" + b.In(time.UTC).Format("2 Jan 2006")
}

func parseDate(field, s string) (civil.Date, *apperr.Error) {
	if strings.TrimSpace(s) == "" {
		return civil.Date{}, invalid(field, "required", "")
	}
	d, err := civil.Parse(strings.TrimSpace(s))
	if err != nil {
		return d, invalid(field, "format", "must be a real date, like 2026-12-20")
	}
	return d, nil
}

// cityOptions is the autocomplete: <option>s for the destination's datalist.
func (w *Web) cityOptions(c echo.Context) error {
	prefix := strings.TrimSpace(c.QueryParam("city"))
	list, err := w.d.Search.ListCities(c.Request().Context(), search.ListCitiesRequest{Prefix: prefix, Limit: 10})
	if err != nil {
		list = search.CityList{}
	}
	return w.render(c, http.StatusOK, "cities", view{Data: list.Cities})
}

// stayQuery is the stay a hotel page prices: from its query string.
type stayQuery struct {
	CheckIn, CheckOut civil.Date
	Guests            int
}

type roomView struct {
	RoomType search.RoomType
	Offer    *search.RoomOffer
	// TooSmall: the room type takes fewer guests than asked.
	TooSmall bool
}

type hotelData struct {
	Hotel   search.Hotel
	Stay    *stayQuery
	Form    searchForm
	Rooms   []roomView
	HoldKey string
	Back    string
}

var stayLabels = [][2]string{{"check_in", "Check-in date"}, {"check_out", "Check-out date"}, {"guests", "Guests"}}

// hotelPage shows a hotel with its room types and, for the stay in the
// query, the rooms free and the total for the stay.
func (w *Web) hotelPage(c echo.Context) error {
	return w.renderHotel(c, http.StatusOK, "")
}

func (w *Web) renderHotel(c echo.Context, status int, banner string) error {
	ctx := c.Request().Context()
	h, err := w.d.Search.GetHotel(ctx, search.GetHotelRequest{ID: c.Param("id")})
	if err != nil {
		return w.fail(c, err)
	}
	q := c.QueryParams()
	if c.Request().Method == http.MethodPost {
		q = url.Values{"check_in": {c.FormValue("check_in")}, "check_out": {c.FormValue("check_out")}, "guests": {c.FormValue("guests")}}
	}
	d := hotelData{Hotel: h, HoldKey: ids.New("hold"), Form: searchForm{CheckIn: q.Get("check_in"), CheckOut: q.Get("check_out"), Guests: 2}}
	v := view{Title: h.Name + ", " + h.City + " · Bellhop", Data: &d, Banner: banner}
	if d.Form.CheckIn != "" || d.Form.CheckOut != "" {
		var bad []*apperr.Error
		st := stayQuery{Guests: 2}
		var e *apperr.Error
		if st.CheckIn, e = parseDate("check_in", d.Form.CheckIn); e != nil {
			bad = append(bad, e)
		}
		if st.CheckOut, e = parseDate("check_out", d.Form.CheckOut); e != nil {
			bad = append(bad, e)
		}
		if g := q.Get("guests"); g != "" {
			if st.Guests, _ = strconv.Atoi(g); st.Guests < 1 {
				bad = append(bad, invalid("guests", "min", "must be at least 1"))
			}
		}
		d.Form.Guests = st.Guests
		if err := joinInvalid(bad...); err != nil {
			v.Errors, v.Field, _ = formErrors(err, stayLabels, nil)
			status = http.StatusUnprocessableEntity
		} else {
			offers, err := w.offers(c, h, st)
			if err != nil {
				v.Errors, v.Field, v.Banner = formErrors(err, stayLabels, map[string]string{search.ErrInvalidStay.Reason: "check_in"})
				status = apperr.As(err).Status()
			} else {
				d.Stay = &st
				for _, rt := range h.RoomTypes {
					rv := roomView{RoomType: rt, TooSmall: rt.MaxGuests < st.Guests}
					if o, ok := offers[rt.ID]; ok {
						rv.Offer = &o
					}
					d.Rooms = append(d.Rooms, rv)
				}
				v.Title = h.Name + ", " + shortRange(st.CheckIn, st.CheckOut) + " · Bellhop"
				d.Back = "/search?" + url.Values{"city": {h.City}, "check_in": {st.CheckIn.String()}, "check_out": {st.CheckOut.String()}, "guests": {strconv.Itoa(st.Guests)}}.Encode()
			}
		}
	}
	if d.Stay == nil {
		for _, rt := range h.RoomTypes {
			d.Rooms = append(d.Rooms, roomView{RoomType: rt})
		}
	}
	return w.render(c, status, "hotel", v)
}

// offers are the hotel's room types free for the whole stay, priced: read
// from a search of its city (search answers availability only that way).
func (w *Web) offers(c echo.Context, h search.Hotel, st stayQuery) (map[string]search.RoomOffer, error) {
	out := map[string]search.RoomOffer{}
	req := search.SearchRequest{City: h.CityID, CheckIn: st.CheckIn, CheckOut: st.CheckOut, Guests: st.Guests, Limit: search.MaxLimit}
	for range 10 {
		res, err := w.d.Search.SearchHotels(c.Request().Context(), req)
		if err != nil {
			return nil, err
		}
		for _, hr := range res.Hotels {
			if hr.ID == h.ID {
				for _, o := range hr.RoomTypes {
					out[o.ID] = o
				}
				return out, nil
			}
		}
		if res.NextCursor == "" {
			break
		}
		req.Cursor = res.NextCursor
	}
	return out, nil
}

// book holds a room and goes on to payment. The form's hold key makes a
// double submit return the same booking.
func (w *Web) book(c echo.Context) error {
	in, _, errs := w.bookForm(c)
	if errs != nil {
		return w.renderHotelPost(c, errs)
	}
	b, err := w.d.Bookings.Hold(c.Request().Context(), in)
	if err != nil {
		return w.renderHotelPost(c, err)
	}
	return redirect(c, "/bookings/"+url.PathEscape(b.ID)+"/pay")
}

func (w *Web) bookForm(c echo.Context) (bookings.HoldRequest, string, error) {
	in := bookings.HoldRequest{IdempotencyKey: c.FormValue("hold_key"), RoomTypeID: c.FormValue("room_type_id")}
	var bad []*apperr.Error
	var e *apperr.Error
	if in.CheckIn, e = parseDate("check_in", c.FormValue("check_in")); e != nil {
		bad = append(bad, e)
	}
	if in.CheckOut, e = parseDate("check_out", c.FormValue("check_out")); e != nil {
		bad = append(bad, e)
	}
	in.Guests, _ = strconv.Atoi(c.FormValue("guests"))
	if err := joinInvalid(bad...); err != nil {
		return in, "", err
	}
	return in, c.FormValue("hotel_id"), nil
}

// renderHotelPost shows the hotel page again after a refused hold: sold
// out, or the stay no longer valid.
func (w *Web) renderHotelPost(c echo.Context, err error) error {
	hotelID := c.FormValue("hotel_id")
	if hotelID == "" {
		return w.fail(c, err)
	}
	c.SetParamNames("id")
	c.SetParamValues(hotelID)
	msg := sentence(apperr.As(err).Message)
	switch {
	case bookings.ErrSoldOut.Is(err):
		msg = "Sorry, that room type has just sold out for these dates. Choose another room or other dates"
	case apperr.CodeOf(err) == apperr.CodeUnavailable:
		msg = unavailableMessage(apperr.As(err))
	}
	return w.renderHotel(c, apperr.As(err).Status(), msg)
}

// testCards are the sandbox bank's payment method tokens a guest picks
// from by name: the form never asks for a card number.
var testCards = []struct{ Token, Label, Hint string }{
	{"pm_card_visa", "Visa ending 4242", "test card: payment succeeds"},
	{"pm_card_mastercard", "Mastercard ending 4444", "test card: payment succeeds"},
	{"pm_card_chargeDeclined", "Visa ending 0002", "test card: declined by the bank"},
	{"pm_card_insufficientFunds", "Visa ending 9995", "test card: declined, insufficient funds"},
	{"pm_card_expired", "Visa ending 0069", "test card: expired"},
}

type payData struct {
	Booking  bookings.Booking
	Declined *payments.Payment
	Cards    any
	Chosen   string
	PayKey   string
}

var payLabels = [][2]string{{"payment_method", "Card"}}

// payPage is the last check before paying: the stay, the total, the hold's
// countdown and the card to pay with. After a declined card it says so and
// asks for another.
func (w *Web) payPage(c echo.Context) error {
	ctx := c.Request().Context()
	b, err := w.d.Bookings.Get(ctx, bookings.GetRequest{ID: c.Param("id")})
	if err != nil {
		return w.fail(c, err)
	}
	if b.Status != bookings.StatusPending {
		return redirect(c, "/bookings/"+url.PathEscape(b.ID))
	}
	d := payData{Booking: b, Cards: testCards, PayKey: ids.New("pay")}
	v := view{Title: "Pay for your stay at " + b.HotelName + " · Bellhop", Data: &d}
	if pid := c.QueryParam("payment"); pid != "" {
		if p, err := w.d.Payments.Get(ctx, payments.GetRequest{ID: pid}); err == nil && p.BookingID == b.ID && p.Status == payments.StatusFailed {
			d.Declined, d.Chosen = &p, ""
			msg := "Your card was declined"
			if p.FailureMessage != "" {
				msg = sentence(p.FailureMessage)
			}
			v.Errors = []fieldError{{Field: "payment_method", Message: msg + ". Choose another card"}}
			v.Field = map[string]string{"payment_method": msg + ". Choose another card"}
			v.Title = "Payment declined · Bellhop"
		}
	}
	return w.render(c, http.StatusOK, "pay", v)
}

// pay charges the chosen card. A declined card comes back to the payment
// page; a success goes to the booking, which is confirmed moments later.
func (w *Web) pay(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	method := c.FormValue("payment_method")
	known := false
	for _, tc := range testCards {
		known = known || tc.Token == method
	}
	if !known {
		return w.payAgain(c, id, invalid("payment_method", "required", ""))
	}
	p, err := w.d.Payments.Pay(ctx, payments.PayRequest{IdempotencyKey: c.FormValue("pay_key"), BookingID: id, PaymentMethod: method})
	switch {
	case payments.ErrAlreadyPaid.Is(err), payments.ErrNotPayable.Is(err):
		return redirect(c, "/bookings/"+url.PathEscape(id))
	case err != nil:
		return w.payAgain(c, id, err)
	case p.Status == payments.StatusFailed:
		return redirect(c, "/bookings/"+url.PathEscape(id)+"/pay?payment="+url.QueryEscape(p.ID))
	}
	return redirect(c, "/bookings/"+url.PathEscape(id)+"?paid=1")
}

func (w *Web) payAgain(c echo.Context, id string, err error) error {
	b, gerr := w.d.Bookings.Get(c.Request().Context(), bookings.GetRequest{ID: id})
	if gerr != nil {
		return w.fail(c, gerr)
	}
	d := payData{Booking: b, Cards: testCards, PayKey: ids.New("pay")}
	v := view{Title: "Pay for your stay at " + b.HotelName + " · Bellhop", Data: &d}
	v.Errors, v.Field, v.Banner = formErrors(err, payLabels, nil)
	if payments.ErrPaymentInProgress.Is(err) {
		v.Banner = "Your last payment is still being confirmed. Wait a moment, then check My bookings before paying again"
	}
	return w.render(c, apperr.As(err).Status(), "pay", v)
}

type bookingData struct {
	Booking  bookings.Booking
	Payments []payments.Payment
	// Confirming: paid, the booking not yet confirmed; WaitingForBank: the
	// bank has not answered about a payment (the reconciler will ask it).
	Confirming     bool
	WaitingForBank bool
	CanCancel      bool
	Paid           bool
	// Documents are the booking's receipts and credit notes (none where
	// reporting is not composed).
	Documents []reporting.DocumentInfo
}

// bookingPage is a booking's page: the confirmation once it is paid, its
// status, payments and the way to cancel it.
func (w *Web) bookingPage(c echo.Context) error {
	ctx := c.Request().Context()
	b, err := w.d.Bookings.Get(ctx, bookings.GetRequest{ID: c.Param("id")})
	if err != nil {
		return w.fail(c, err)
	}
	d := bookingData{Booking: b, CanCancel: cancellable(b)}
	v := view{Title: "Your stay at " + b.HotelName + " · Bellhop", Data: &d}
	if list, err := w.d.Payments.List(ctx, payments.ListRequest{BookingID: b.ID, Limit: 20}); err == nil {
		d.Payments = list.Payments
	} else {
		v.Banner = unavailableMessage(apperr.As(err))
	}
	for _, p := range d.Payments {
		if p.Status == payments.StatusSucceeded || p.Status == payments.StatusRefunded || p.Status == payments.StatusPartiallyRefunded {
			d.Paid = true
		}
		if b.Status == bookings.StatusPending {
			switch p.Status {
			case payments.StatusSucceeded:
				d.Confirming = true
			case payments.StatusProcessing, payments.StatusUnknown:
				d.WaitingForBank = true
			}
		}
	}
	switch {
	case d.Confirming:
		v.Refresh = 2
		v.Title = "Confirming your payment · Bellhop"
	case d.WaitingForBank:
		v.Refresh = 5
		v.Title = "Waiting for the bank · Bellhop"
	case b.Status == bookings.StatusConfirmed:
		v.Title = "Booking confirmed: " + b.HotelName + " · Bellhop"
	}
	var docBanner string
	d.Documents, docBanner = w.documentsOf(ctx, b.ID)
	if v.Banner == "" {
		v.Banner = docBanner
	}
	if c.QueryParam("cancelled") == "1" && b.Status == bookings.StatusCancelled {
		v.Notice = "Your booking is cancelled"
	}
	return w.render(c, http.StatusOK, "booking", v)
}

// cancellable: pending or confirmed, and the stay has not ended.
func cancellable(b bookings.Booking) bool {
	if b.Status != bookings.StatusPending && b.Status != bookings.StatusConfirmed {
		return false
	}
	today, err := civil.TodayIn(b.TimeZone)
	if err != nil {
		today = civil.Today(time.UTC)
	}
	return today.Before(b.CheckOut)
}

type cancelData struct {
	Booking     bookings.Booking
	Paid        bool
	Refund, Fee money.Money
	FreeUntil   time.Time
}

// refundIf is what cancelling now would refund and keep, by the booking's
// own terms (the service applies the same rule).
func refundIf(b bookings.Booking, now time.Time) cancelData {
	d := cancelData{Booking: b, FreeUntil: b.FreeCancellationUntil,
		Refund: money.New(0, b.Total.Currency), Fee: money.New(0, b.Total.Currency)}
	if b.Status != bookings.StatusConfirmed {
		return d
	}
	d.Paid = true
	if now.Before(b.FreeCancellationUntil) {
		d.Refund = b.Total
		return d
	}
	d.Fee = b.LateCancellationFee
	if d.Fee.Amount > b.Total.Amount {
		d.Fee.Amount = b.Total.Amount
	}
	d.Refund = money.New(b.Total.Amount-d.Fee.Amount, b.Total.Currency)
	return d
}

// cancelPage says what cancelling will do (the refund) before it is done.
func (w *Web) cancelPage(c echo.Context) error {
	b, err := w.d.Bookings.Get(c.Request().Context(), bookings.GetRequest{ID: c.Param("id")})
	if err != nil {
		return w.fail(c, err)
	}
	if !cancellable(b) {
		return redirect(c, "/bookings/"+url.PathEscape(b.ID))
	}
	d := refundIf(b, w.d.Now())
	return w.render(c, http.StatusOK, "cancel", view{Title: "Cancel your stay at " + b.HotelName + "? · Bellhop", Data: &d})
}

func (w *Web) cancel(c echo.Context) error {
	b, err := w.d.Bookings.Cancel(c.Request().Context(), bookings.CancelRequest{ID: c.Param("id")})
	if err != nil {
		if bookings.ErrNotCancellable.Is(err) {
			return redirect(c, "/bookings/"+url.PathEscape(c.Param("id")))
		}
		return w.fail(c, err)
	}
	return redirect(c, "/bookings/"+url.PathEscape(b.ID)+"?cancelled=1")
}

type listData struct {
	Bookings []bookings.Booking
	NextURL  string
	FirstURL string
	Filter   bookings.ListRequest
	Hotel    string
	// Documents are the receipts and credit notes by booking id (My bookings).
	Documents map[string][]reporting.DocumentInfo
}

// myBookings lists the guest's bookings, newest first, a page at a time.
func (w *Web) myBookings(c echo.Context) error {
	cursor := c.QueryParam("cursor")
	list, err := w.d.Bookings.List(c.Request().Context(), bookings.ListRequest{Limit: 20, Cursor: cursor})
	if err != nil {
		return w.fail(c, err)
	}
	d := listData{Bookings: list.Bookings}
	ids := make([]string, len(list.Bookings))
	for i, b := range list.Bookings {
		ids[i] = b.ID
	}
	d.Documents = w.documentsByBooking(c.Request().Context(), ids)
	if list.NextCursor != "" {
		d.NextURL = "/bookings?cursor=" + url.QueryEscape(list.NextCursor)
	}
	if cursor != "" {
		d.FirstURL = "/bookings"
	}
	return w.render(c, http.StatusOK, "bookings", view{Title: "My bookings · Bellhop", Data: &d})
}
