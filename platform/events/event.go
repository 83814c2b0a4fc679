// Package events is Bellhop's event backbone: how one module tells the others
// what happened, without anyone reading another module's tables.
//
// The pieces, in the order an event meets them:
//
//   - [Event] is a CloudEvents 1.0 envelope in JSON (structured mode). [New]
//     builds one with a ULID id, the source module, a versioned type such as
//     "bellhop.catalog.room_type.changed.v1", and the request/correlation id
//     found in the context.
//   - [Record] writes the event into the module's outbox table inside the
//     caller's transaction, so the state change and the event commit or roll
//     back together. Nothing else publishes.
//   - A [Relay] (one per hosted module) publishes pending outbox rows to NATS
//     JetStream in order, with the event id as Nats-Msg-Id so JetStream drops
//     duplicates, then marks them published. It wakes up on [Relay.Notify],
//     polls only as a slow fallback, catches up after a restart and prunes old
//     published rows.
//   - A [Bus] is the NATS connection: an embedded server ([StartEmbedded]) or
//     an external one ([Connect]); everything after that is one code path.
//     Each source module has a stream "BELLHOP_<MODULE>" holding subjects
//     "bellhop.<module>.>".
//   - A [Consumer] ([Bus.Subscribe]) is a durable JetStream pull consumer per
//     (consuming module, subscription). Each event is handled in a transaction
//     of the consumer's database that first records the event id in the inbox:
//     a redelivered event changes nothing. Failures are retried with capped
//     exponential backoff; after MaxDeliver attempts the event becomes a
//     [DeadLetter] that [ListDeadLetters] shows and [Bus.Replay] re-runs
//     through the same inbox path.
//
// Delivery is at least once; the effect is once.
//
// Traces cross the backbone: an event carries the W3C traceparent of the
// context it was written in (the CloudEvents distributed tracing
// extension); with [Options].Tracing, the relay's publishing and each
// consumer's handling are spans continuing that trace.
//
// A module wires all of this in one place: it appends [Migrations] to its own
// migrations, declares what it publishes and consumes ([Declaration]), and
// [Wire] builds its [Outbox], relay and consumers; it writes through
// [Outbox.Transaction] and runs [ModuleEvents.Run]. This package never
// imports modules/.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/oklog/ulid/v2"

	"github.com/bellhop/bellhop/platform/observability"
)

// SpecVersion is the CloudEvents version of every envelope.
const SpecVersion = "1.0"

// ContentTypeJSON is the datacontenttype of every event's data.
const ContentTypeJSON = "application/json"

// ContentTypeCloudEvents is the NATS Content-Type header of a message that
// carries a whole envelope (CloudEvents structured mode).
const ContentTypeCloudEvents = "application/cloudevents+json"

// Event is a CloudEvents 1.0 envelope. Payload types live in the publishing
// module's contract package and are versioned by Type: a new version is a new
// type, and consumers may handle both during a change.
type Event struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`     // a ULID: unique, sortable by time
	Source          string    `json:"source"` // the publishing module, e.g. "search"
	Type            string    `json:"type"`   // e.g. "bellhop.catalog.room_type.changed.v1"
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	// CorrelationID ties together everything one request caused: the request
	// ID of the context the event was created in, carried on to the events
	// its consumers publish. An extension attribute.
	CorrelationID string `json:"correlationid,omitempty"`
	// CausationID is the id of the event whose handler created this one, if
	// any. An extension attribute.
	CausationID string `json:"causationid,omitempty"`
	// Traceparent is the W3C trace context of the span the event was
	// written in (the CloudEvents distributed tracing extension), so the
	// span of each consumer that handles it continues the same trace, in
	// whatever process. Empty when tracing is off.
	Traceparent string          `json:"traceparent,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

var (
	moduleRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	typeRE   = regexp.MustCompile(`^bellhop(\.[a-z0-9_]+)+\.v[0-9]+$`)
)

// New builds an event of type typ from source, with data marshalled as JSON.
// The correlation id is the request ID in ctx (or, at the start of a chain,
// the event's own id); inside a [Handler], ctx also names the event being
// handled as the cause. The span in ctx, if any, becomes the traceparent.
func New(ctx context.Context, source, typ string, data any) (Event, error) {
	if !moduleRE.MatchString(source) {
		return Event{}, fmt.Errorf("events: source %q: want a module name such as \"search\"", source)
	}
	if !typeRE.MatchString(typ) {
		return Event{}, fmt.Errorf("events: type %q: want \"bellhop.<what>.<happened>.v<N>\" in lower case", typ)
	}
	raw, err := gojson.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("events: %s data: %w", typ, err)
	}
	id := ulid.Make().String()
	corr := observability.RequestID(ctx)
	if corr == "" {
		corr = id
	}
	cause, _ := ctx.Value(causationKey{}).(string)
	return Event{
		SpecVersion:     SpecVersion,
		ID:              id,
		Source:          source,
		Type:            typ,
		Time:            time.Now().UTC(),
		DataContentType: ContentTypeJSON,
		CorrelationID:   corr,
		CausationID:     cause,
		Traceparent:     observability.Traceparent(ctx),
		Data:            raw,
	}, nil
}

// Decode unmarshals the event's data into v. A payload that cannot be read
// will not become readable by retrying, so the error is [Permanent]: a
// handler that returns it sends the event straight to the dead letters.
func (e Event) Decode(v any) error {
	if e.DataContentType != "" && e.DataContentType != ContentTypeJSON {
		return Permanent(fmt.Errorf("events: %s %s: datacontenttype %q is not JSON", e.Type, e.ID, e.DataContentType))
	}
	if err := gojson.Unmarshal(e.Data, v); err != nil {
		return Permanent(fmt.Errorf("events: decode %s %s: %w", e.Type, e.ID, err))
	}
	return nil
}

// Subject is the NATS subject of an event: "bellhop.<source>." followed by
// its type without the "bellhop." prefix, so every source module has a
// subject space of its own (and a stream of its own). It also builds
// subscription filters: Subject("search", "bellhop.catalog.>") is
// "bellhop.search.catalog.>".
func Subject(source, typ string) string {
	return "bellhop." + source + "." + strings.TrimPrefix(typ, "bellhop.")
}

// StreamName is the JetStream stream holding module's events.
func StreamName(module string) string { return "BELLHOP_" + strings.ToUpper(module) }

// validate checks an event read back or about to be recorded.
func (e Event) validate() error {
	switch {
	case e.SpecVersion != SpecVersion:
		return fmt.Errorf("events: specversion %q, want %q", e.SpecVersion, SpecVersion)
	case e.ID == "":
		return errors.New("events: event without an id")
	case !moduleRE.MatchString(e.Source):
		return fmt.Errorf("events: event %s: invalid source %q", e.ID, e.Source)
	case !typeRE.MatchString(e.Type):
		return fmt.Errorf("events: event %s: invalid type %q", e.ID, e.Type)
	}
	return nil
}

// parseEvent reads an envelope from a message body.
func parseEvent(b []byte) (Event, error) {
	var e Event
	if err := gojson.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("events: not a CloudEvents JSON envelope: %w", err)
	}
	return e, e.validate()
}

type causationKey struct{}

// handlerContext is the context a handler runs in: the event's correlation
// id as the request ID (so logs and the events it publishes carry it), the
// event itself as the cause of anything it publishes, and the trace context
// it was written in (the parent of the consumer's span).
func handlerContext(ctx context.Context, e Event) context.Context {
	if e.CorrelationID != "" {
		ctx = observability.WithRequestID(ctx, e.CorrelationID)
	}
	ctx = observability.WithTraceparent(ctx, e.Traceparent)
	return context.WithValue(ctx, causationKey{}, e.ID)
}

// permanentError marks a failure retrying cannot fix.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Permanent marks err as a failure that retrying cannot fix (a payload of an
// unknown shape, say): the consumer dead-letters the event at once instead
// of retrying it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked with [Permanent].
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
