package events

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/bellhop/bellhop/platform/observability"
)

// An event carries the trace context it was written in; the consumer that
// handles it makes a consumer span that is its child, and an event the
// handler writes continues from that span: one trace through the backbone.
func TestTracing_EventsContinueTheTrace(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tr := observability.NewTracingWith(observability.TracingConfig{SampleRatio: 1}, sdktrace.WithSyncer(exp))
	bus, err := StartEmbedded(context.Background(), EmbeddedOptions{StoreDir: t.TempDir(), Options: Options{Tracing: tr.Provider()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close() })

	src, mid, dst := uniq("pub"), uniq("mid"), uniq("sub")
	pubDB, midDB, dstDB := openDB(t, src), openDB(t, mid), openDB(t, dst)
	relay := func(module string, d *gorm.DB) *Relay {
		r, err := NewRelay(bus, RelayOptions{Module: module, DB: d})
		if err != nil {
			t.Fatal(err)
		}
		background(t, r.Run)
		return r
	}
	pubRelay, midRelay := relay(src, pubDB.DB), relay(mid, midDB.DB)

	// mid handles src's event by writing one of its own (as bookings
	// confirms on payment.succeeded); dst handles that one.
	const confirmedV1 = "bellhop.booking.confirmed.v1"
	midCons, err := bus.Subscribe(mid, "chain", []string{Subject(src, roomChangedV1)}, func(ctx context.Context, tx *gorm.DB, evt Event) error {
		next, err := New(ctx, mid, confirmedV1, map[string]string{"after": evt.ID})
		if err != nil {
			return err
		}
		return Record(tx, next)
	}, SubscribeOptions{DB: midDB.DB, Relay: midRelay})
	if err != nil {
		t.Fatal(err)
	}
	handled := make(chan Event, 4)
	dstCons, err := bus.Subscribe(dst, "end", []string{Subject(mid, confirmedV1), Subject(src, roomChangedV1)}, func(ctx context.Context, tx *gorm.DB, evt Event) error {
		handled <- evt
		return nil
	}, SubscribeOptions{DB: dstDB.DB})
	if err != nil {
		t.Fatal(err)
	}
	background(t, midCons.Run)
	background(t, dstCons.Run)

	// The request: an event built with its context, and one built without
	// it but recorded in a transaction that has it.
	tracer := observability.Tracer(tr.Provider(), "test")
	ctx, request := tracer.Start(context.Background(), "POST /api/v1/payments", trace.WithSpanKind(trace.SpanKindServer))
	withCtx, err := New(ctx, src, roomChangedV1, roomChanged{RoomID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := observability.Traceparent(ctx); withCtx.Traceparent != want || want == "" {
		t.Fatalf("traceparent = %q, want %q", withCtx.Traceparent, want)
	}
	err = pubDB.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return Record(tx, withCtx) })
	if err != nil {
		t.Fatal(err)
	}
	request.End()
	pubRelay.Notify()

	var got []Event
	for len(got) < 2 {
		select {
		case e := <-handled:
			got = append(got, e)
		case <-time.After(10 * time.Second):
			t.Fatalf("handled %d of 2 events", len(got))
		}
	}
	var confirmed Event
	for _, e := range got {
		if e.Type == confirmedV1 {
			confirmed = e
		}
	}
	reqSC := request.SpanContext()
	eventually(t, 5*time.Second, "three consumer spans", func() bool {
		n := 0
		for _, s := range exp.GetSpans() {
			if s.SpanKind == trace.SpanKindConsumer {
				n++
			}
		}
		return n == 3
	})
	var midSpan, dstFirst, dstSecond tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		switch {
		case s.SpanKind != trace.SpanKindConsumer:
		case attrOf(s, "messaging.consumer.group.name") == midCons.Name():
			midSpan = s
		case s.Name == "consume "+roomChangedV1:
			dstFirst = s
		default:
			dstSecond = s
		}
	}
	if midSpan.Name != "consume "+roomChangedV1 || midSpan.Parent.SpanID() != reqSC.SpanID() || !midSpan.Parent.IsRemote() ||
		midSpan.SpanContext.TraceID() != reqSC.TraceID() || attrOf(midSpan, "messaging.message.id") != withCtx.ID {
		t.Errorf("mid's consumer span: %s, parent %s (want %s), trace %s", midSpan.Name, midSpan.Parent.SpanID(), reqSC.SpanID(), midSpan.SpanContext.TraceID())
	}
	if dstFirst.Parent.SpanID() != reqSC.SpanID() {
		t.Errorf("dst's span of the first event has parent %s, want the request's %s", dstFirst.Parent.SpanID(), reqSC.SpanID())
	}
	if confirmed.Traceparent != "00-"+reqSC.TraceID().String()+"-"+midSpan.SpanContext.SpanID().String()+"-01" {
		t.Errorf("the handler's event has traceparent %q, want mid's consumer span", confirmed.Traceparent)
	}
	// The relay's producer span of each event: a child of the span that
	// wrote it, from the moment it was written (its wait in the outbox)
	// until JetStream acknowledged it.
	var published []tracetest.SpanStub
	eventually(t, 5*time.Second, "two producer spans", func() bool {
		published = published[:0]
		for _, s := range exp.GetSpans() {
			if s.SpanKind == trace.SpanKindProducer {
				published = append(published, s)
			}
		}
		return len(published) == 2
	})
	for _, p := range published {
		switch attrOf(p, "messaging.message.id") {
		case withCtx.ID:
			if p.Name != "publish "+roomChangedV1 || p.Parent.SpanID() != reqSC.SpanID() || !p.StartTime.Equal(withCtx.Time) ||
				attrOf(p, "messaging.destination.name") != Subject(src, roomChangedV1) {
				t.Errorf("producer span of the request's event: %s parent %s start %s (event at %s)", p.Name, p.Parent.SpanID(), p.StartTime, withCtx.Time)
			}
		case confirmed.ID:
			if p.Parent.SpanID() != midSpan.SpanContext.SpanID() {
				t.Errorf("producer span of the handler's event has parent %s, want mid's consumer span", p.Parent.SpanID())
			}
		default:
			t.Errorf("a producer span of an unknown event: %s %v", p.Name, p.Attributes)
		}
	}
	if dstSecond.Name != "consume "+confirmedV1 || dstSecond.Parent.SpanID() != midSpan.SpanContext.SpanID() || dstSecond.SpanContext.TraceID() != reqSC.TraceID() {
		t.Errorf("dst's span of the follow-up: %s parent %s, want a child of mid's %s", dstSecond.Name, dstSecond.Parent.SpanID(), midSpan.SpanContext.SpanID())
	}

	// An event New'd without the context takes the transaction's.
	ctx2, other := tracer.Start(context.Background(), "PATCH /api/v1/hotels/:id")
	bare, err := New(context.Background(), src, roomChangedV1, roomChanged{RoomID: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := pubDB.DB.WithContext(ctx2).Transaction(func(tx *gorm.DB) error { return Record(tx, bare) }); err != nil {
		t.Fatal(err)
	}
	other.End()
	var payload []byte
	if err := pubDB.DB.Raw("SELECT payload FROM events_outbox WHERE event_id = ?", bare.ID).Row().Scan(&payload); err != nil {
		t.Fatal(err)
	}
	stored, err := parseEvent(payload)
	if err != nil || stored.Traceparent != observability.Traceparent(ctx2) {
		t.Fatalf("stored traceparent %q, want the transaction's %q (%v)", stored.Traceparent, observability.Traceparent(ctx2), err)
	}
}

func attrOf(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}
