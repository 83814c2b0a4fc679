package reportinglocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/civil"
	"github.com/bellhop/bellhop/platform/events"
	"github.com/bellhop/bellhop/platform/money"
)

// applier turns events into read-model rows, documents and mail. Live, it
// issues documents and queues mail; rebuilding, it only finds the
// documents already issued (never issues, renumbers or mails).
type applier struct {
	cfg     Config
	mail    *mailComposer
	metrics *metrics
	now     func() time.Time
}

// handle is the consumer's Handler: it keeps the event (for Rebuild), then
// applies it. It runs in the consumer's transaction after the inbox row,
// so a redelivered event does nothing.
func (a *applier) handle(ctx context.Context, tx *gorm.DB, evt events.Event) error {
	envelope, err := json.Marshal(evt)
	if err != nil {
		return events.Permanent(err)
	}
	row := eventRow{EventID: evt.ID, Type: evt.Type, Envelope: envelope, ReceivedAt: a.now()}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return fmt.Errorf("keep event %s: %w", evt.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil // kept and applied before (an event replayed past the inbox's retention)
	}
	return a.apply(ctx, tx, evt, true)
}

// apply applies one event; live says whether documents and mail may be made.
func (a *applier) apply(_ context.Context, tx *gorm.DB, evt events.Event, live bool) error {
	switch evt.Type {
	case bookings.EventHeld, bookings.EventConfirmed, bookings.EventExpired, bookings.EventRejected,
		bookings.EventCancelled, bookings.EventPaymentRefused:
		var e bookings.BookingEvent
		if err := evt.Decode(&e); err != nil {
			return err
		}
		return a.applyBooking(tx, evt, e, live)
	case payments.EventSucceeded, payments.EventFailed, payments.EventRefunded:
		var e paymentEvent
		if err := evt.Decode(&e); err != nil {
			return err
		}
		return a.applyPayment(tx, e)
	case search.EventRoomTypeChanged:
		var e roomTypeChanged
		if err := evt.Decode(&e); err != nil {
			return err
		}
		return a.applyRoomType(tx, evt, e)
	case auth.EventUserRegistered:
		var e userRegistered
		if err := evt.Decode(&e); err != nil {
			return err
		}
		if !live || e.Email == "" {
			return nil
		}
		return a.mail.welcome(tx, e)
	case auth.EventRegistrationAttempted:
		var e registrationAttempted
		if err := evt.Decode(&e); err != nil {
			return err
		}
		if !live || e.Email == "" {
			return nil
		}
		return a.mail.registrationAttempt(tx, evt, e)
	}
	return nil
}

func (a *applier) applyRoomType(tx *gorm.DB, evt events.Event, e roomTypeChanged) error {
	if e.RoomTypeID == "" || e.HotelID == "" {
		return events.Permanent(errors.New("room_type.changed without room type or hotel"))
	}
	hotel := hotelRow{ID: e.HotelID, Name: e.HotelName, CityID: e.CityID, City: e.City, Country: e.Country, TimeZone: e.TimeZone}
	if err := upsertHotel(tx, hotel); err != nil {
		return err
	}
	rt := roomTypeRow{ID: e.RoomTypeID, HotelID: e.HotelID, CityID: e.CityID, Name: e.Name, Currency: e.BaseRate.Currency}
	if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"hotel_id", "city_id", "name", "currency"})}).Create(&rt).Error; err != nil {
		return err
	}
	if e.Change == search.ChangeRatesChanged {
		return nil
	}
	rooms := e.RoomsTotal
	if e.Change == search.ChangeDeleted {
		rooms = 0
	}
	from := civilIn(evt.Time, e.TimeZone).String()
	return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "room_type_id"}, {Name: "from_date"}},
		DoUpdates: clause.AssignmentColumns([]string{"rooms"})}).
		Create(&capacityRow{RoomTypeID: e.RoomTypeID, FromDate: from, Rooms: rooms}).Error
}

// upsertHotel records what is known of a hotel; a field an event leaves
// empty keeps what an earlier one said.
func upsertHotel(tx *gorm.DB, h hotelRow) error {
	var have hotelRow
	err := tx.Where("id = ?", h.ID).Take(&have).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		if h.Name == "" {
			h.Name = h.ID
		}
		return tx.Create(&h).Error
	}
	if err != nil {
		return err
	}
	set := map[string]any{}
	for col, v := range map[string]string{"name": h.Name, "city_id": h.CityID, "city": h.City, "country": h.Country, "address": h.Address, "time_zone": h.TimeZone} {
		if v != "" {
			set[col] = v
		}
	}
	if len(set) == 0 {
		return nil
	}
	return tx.Model(&hotelRow{}).Where("id = ?", h.ID).Updates(set).Error
}

func (a *applier) applyPayment(tx *gorm.DB, e paymentEvent) error {
	p := e.Payment
	if p.ID == "" {
		return nil
	}
	row := paymentRow{ID: p.ID, BookingID: p.BookingID, Status: p.Status, Currency: p.Amount.Currency, Amount: p.Amount.Amount, PaidAt: p.UpdatedAt}
	if p.Card != nil {
		row.Brand, row.Last4 = p.Card.Brand, p.Card.Last4
	}
	var have paymentRow
	err := tx.Where("id = ?", p.ID).Take(&have).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return tx.Create(&row).Error
	case err != nil:
		return err
	}
	// A refund leaves the time paid as it was.
	set := map[string]any{"status": row.Status}
	if p.Status == "succeeded" {
		set["paid_at"] = row.PaidAt
	}
	if row.Brand != "" {
		set["brand"], set["last4"] = row.Brand, row.Last4
	}
	return tx.Model(&paymentRow{}).Where("id = ?", p.ID).Updates(set).Error
}

// cityID is the booking's city id: the one the catalog gave its room type,
// else one made like the catalog's ("lisbon-pt").
func cityID(tx *gorm.DB, b bookings.Booking) string {
	var rt roomTypeRow
	if tx.Select("city_id").Where("id = ?", b.RoomTypeID).Take(&rt).Error == nil && rt.CityID != "" {
		return rt.CityID
	}
	slug := strings.ToLower(strings.Join(strings.Fields(b.City), "-"))
	return slug + "-" + strings.ToLower(b.Country)
}

func (a *applier) applyBooking(tx *gorm.DB, evt events.Event, e bookings.BookingEvent, live bool) error {
	b := e.Booking
	if b.ID == "" || b.HotelID == "" {
		return events.Permanent(errors.New("booking event without booking or hotel"))
	}
	city := cityID(tx, b)
	if err := upsertHotel(tx, hotelRow{ID: b.HotelID, Name: b.HotelName, CityID: city, City: b.City,
		Country: b.Country, Address: b.Address, TimeZone: b.TimeZone}); err != nil {
		return err
	}
	var row bookingRow
	err := tx.Where("id = ?", b.ID).Take(&row).Error
	known := err == nil
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return err
	}
	if !known {
		created := b.CreatedAt
		if created.IsZero() {
			created = evt.Time
		}
		row = bookingRow{ID: b.ID, GuestID: b.GuestID, HotelID: b.HotelID, RoomTypeID: b.RoomTypeID, CityID: city,
			CheckIn: b.CheckIn.String(), CheckOut: b.CheckOut.String(), Nights: len(b.Nights),
			Currency: b.Total.Currency, Total: b.Total.Amount, HeldDate: civilIn(created, b.TimeZone).String()}
		nights := make([]nightRow, 0, len(b.Nights))
		for _, n := range b.Nights {
			nights = append(nights, nightRow{BookingID: b.ID, Date: n.Date.String(), RoomTypeID: b.RoomTypeID,
				HotelID: b.HotelID, CityID: city, Currency: n.Price.Currency, Price: n.Price.Amount})
		}
		if len(nights) > 0 {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&nights).Error; err != nil {
				return err
			}
		}
	}
	today := civilIn(evt.Time, b.TimeZone).String()
	wasConfirmed := row.ConfirmedDate != ""
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	row.Payload = payload
	switch evt.Type {
	case bookings.EventHeld:
		row.Status = bookings.StatusPending
	case bookings.EventConfirmed:
		row.Status = bookings.StatusConfirmed
		if row.ConfirmedDate == "" {
			row.ConfirmedDate = today
		}
	case bookings.EventExpired:
		row.Status, row.EndedStatus = bookings.StatusExpired, bookings.StatusExpired
	case bookings.EventRejected:
		row.Status, row.EndedStatus = bookings.StatusRejected, bookings.StatusRejected
	case bookings.EventCancelled:
		row.Status, row.EndedStatus = bookings.StatusCancelled, bookings.StatusCancelled
		if wasConfirmed || b.PaymentID != "" {
			row.CancelledDate = today
			if row.ConfirmedDate == "" {
				row.ConfirmedDate = today // confirmed before reporting heard of it
			}
		}
	case bookings.EventPaymentRefused:
		// Not a transition: the booking is as it was.
	}
	if err := tx.Save(&row).Error; err != nil {
		return err
	}
	if err := tx.Model(&nightRow{}).Where("booking_id = ?", row.ID).Update("sold", row.Status == bookings.StatusConfirmed).Error; err != nil {
		return err
	}

	switch evt.Type {
	case bookings.EventConfirmed:
		return a.onConfirmed(tx, evt, e, row, live)
	case bookings.EventCancelled:
		if row.CancelledDate == "" {
			return nil // an unpaid booking: nothing was paid, nothing is refunded
		}
		return a.onCancelled(tx, evt, e, row, live)
	case bookings.EventRejected:
		if paymentOf(e) == "" {
			return nil
		}
		return a.onRefundInFull(tx, evt, e, reporting.ReasonRejection, live)
	case bookings.EventPaymentRefused:
		if paymentOf(e) == "" {
			return nil
		}
		return a.onRefundInFull(tx, evt, e, reporting.ReasonPaymentRefused, live)
	}
	return nil
}

func paymentOf(e bookings.BookingEvent) string {
	switch {
	case e.Payment != nil && e.Payment.ID != "":
		return e.Payment.ID
	case e.PaymentID != "":
		return e.PaymentID
	}
	return e.Booking.PaymentID
}

// paymentFor is what the event says of the payment, completed by what the
// payment events said (they may arrive before or after the booking's).
func paymentFor(tx *gorm.DB, e bookings.BookingEvent) *bookings.EventPayment {
	id := paymentOf(e)
	if id == "" {
		return nil
	}
	p := bookings.EventPayment{ID: id}
	if e.Payment != nil {
		p = *e.Payment
		p.ID = id
	}
	if p.Brand == "" || p.PaidAt.IsZero() {
		var row paymentRow
		if tx.Where("id = ?", id).Take(&row).Error == nil {
			if p.Brand == "" {
				p.Brand, p.Last4 = row.Brand, row.Last4
			}
			if p.PaidAt.IsZero() {
				p.PaidAt = row.PaidAt
			}
			if p.Amount.IsZero() {
				p.Amount = money.New(row.Amount, row.Currency)
			}
		}
	}
	return &p
}

func receiptKey(bookingID string) string { return "receipt:" + bookingID }

func (a *applier) onConfirmed(tx *gorm.DB, evt events.Event, e bookings.BookingEvent, row bookingRow, live bool) error {
	doc, err := findDocument(tx, receiptKey(row.ID))
	if err != nil {
		return err
	}
	if doc == nil {
		if !live {
			return nil
		}
		m := a.receiptModel(e.Booking, paymentFor(tx, e), evt.Time)
		if doc, err = a.issue(tx, receiptKey(row.ID), a.cfg.ReceiptPrefix, &m, row.ID, row.GuestID, evt.Time); err != nil {
			return err
		}
	}
	var m docModel
	if err := json.Unmarshal(doc.Model, &m); err != nil {
		return err
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ledgerRow{Key: "receipt:" + row.ID, BookingID: row.ID, DocumentID: doc.ID, HotelID: row.HotelID, RoomTypeID: row.RoomTypeID,
		CityID: row.CityID, Date: row.ConfirmedDate, Currency: m.Currency, Bookings: 1,
		Gross: m.Total, Tax: m.TaxAmount + m.TourismTax}).Error
}

func (a *applier) onCancelled(tx *gorm.DB, evt events.Event, e bookings.BookingEvent, row bookingRow, live bool) error {
	b := e.Booking
	ledger := ledgerRow{Key: "cancel:" + row.ID, BookingID: row.ID, HotelID: row.HotelID, RoomTypeID: row.RoomTypeID, CityID: row.CityID,
		Date: row.CancelledDate, Currency: row.Currency, Fee: b.CancellationFee.Amount}
	if b.Refund.Amount > 0 {
		key := fmt.Sprintf("credit:%s:%s", reporting.ReasonCancellation, row.ID)
		doc, err := findDocument(tx, key)
		if err != nil {
			return err
		}
		if doc == nil && live {
			var receipt *docModel
			if r, err := findDocument(tx, receiptKey(row.ID)); err != nil {
				return err
			} else if r != nil {
				receipt = new(docModel)
				if err := json.Unmarshal(r.Model, receipt); err != nil {
					return err
				}
			}
			m := a.creditNoteModel(b, receipt, reporting.ReasonCancellation, b.Refund.Amount, paymentFor(tx, e), evt.Time)
			if doc, err = a.issue(tx, key, a.cfg.CreditNotePrefix, &m, row.ID, row.GuestID, evt.Time); err != nil {
				return err
			}
		}
		ledger.Refund = b.Refund.Amount
		if doc != nil {
			var m docModel
			if err := json.Unmarshal(doc.Model, &m); err != nil {
				return err
			}
			ledger.DocumentID = doc.ID
			ledger.Tax = m.TaxAmount + m.TourismTax // negative: tax given back
		}
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ledger).Error
}

// onRefundInFull issues the credit note of a payment refunded in full
// (a rejection or a refused payment). It never was revenue: no ledger row.
func (a *applier) onRefundInFull(tx *gorm.DB, evt events.Event, e bookings.BookingEvent, reason string, live bool) error {
	pay := paymentFor(tx, e)
	key := fmt.Sprintf("credit:%s:%s:%s", reason, e.Booking.ID, pay.ID)
	doc, err := findDocument(tx, key)
	if err != nil || doc != nil || !live {
		return err
	}
	amount := e.Booking.Total.Amount
	if !pay.Amount.IsZero() {
		amount = pay.Amount.Amount
	}
	m := a.creditNoteModel(e.Booking, nil, reason, amount, pay, evt.Time)
	_, err = a.issue(tx, key, a.cfg.CreditNotePrefix, &m, e.Booking.ID, e.Booking.GuestID, evt.Time)
	return err
}

func moneyOf(amount int64, currency string) money.Money { return money.New(amount, currency) }

// parseDate reads a stored date ("" → zero).
func parseDate(s string) civil.Date {
	d, _ := civil.Parse(s)
	return d
}
