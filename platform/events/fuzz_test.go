package events

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseEvent reads CloudEvents envelopes as they arrive from NATS, the
// outbox and the dead-letter table: any bytes either fail with an error or
// give a valid envelope that survives a marshal and a second read unchanged.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"01J0000000000000000000000A","source":"bookings","type":"bellhop.booking.confirmed.v1","time":"2026-05-01T10:00:00Z","datacontenttype":"application/json","correlationid":"req-1","data":{"booking_id":"bk_1"}}`))
	f.Add([]byte(`{"specversion":"0.3","id":"x","source":"search","type":"bellhop.x.v1"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"Search","type":"bellhop.x.v1"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"search","type":"bellhop.x.v1","data":null}`))
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"search","type":"bellhop..v1","time":"not a time"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"search","type":"bellhop.a.v1","data":"\ud800"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := parseEvent(b)
		if err != nil {
			return
		}
		if e.validate() != nil || e.ID == "" {
			t.Fatalf("accepted an invalid envelope: %+v", e)
		}
		again, err := json.Marshal(e)
		if err != nil {
			return // e.g. data that is not valid JSON on its own: refused when written, not read
		}
		back, err := parseEvent(again)
		if err != nil {
			t.Fatalf("an accepted envelope does not read back: %v\n%s", err, again)
		}
		if back.ID != e.ID || back.Type != e.Type || back.Source != e.Source || !back.Time.Equal(e.Time) ||
			back.CorrelationID != e.CorrelationID || back.CausationID != e.CausationID || !sameJSON(back.Data, e.Data) {
			t.Fatalf("round trip changed the envelope:\n%+v\n%+v", e, back)
		}
	})
}

// sameJSON reports whether two JSON values are the same value: a marshal
// may write a string's characters differently ("&" as "\u0026", as
// encoding/json does) without changing it. Numbers are compared as written.
func sameJSON(a, b json.RawMessage) bool {
	va, errA := decodeJSON(a)
	vb, errB := decodeJSON(b)
	if errA != nil || errB != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(va, vb)
}

func decodeJSON(b json.RawMessage) (any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}
