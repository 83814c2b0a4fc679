package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/bellhop/bellhop/platform/observability"
	"github.com/bellhop/bellhop/platform/retry"
)

// Options configure a [Bus], embedded or connected.
type Options struct {
	// Name is the client connection's name as the NATS server shows it
	// (default "bellhop").
	Name string
	Log  *slog.Logger
	// Registerer receives the backbone's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// DuplicateWindow is how long JetStream remembers message ids to drop a
	// republished event (default 2 minutes). A relay that dies between
	// publishing and marking republishes on restart; within the window the
	// copy is dropped, after it the consumers' inboxes still apply it once.
	DuplicateWindow time.Duration
	// MaxAge is how long a stream keeps events (default 7 days): a consumer
	// down for longer misses the older ones.
	MaxAge time.Duration
	// Replicas of each stream (default 1; 3 on a NATS cluster).
	Replicas int
	// Tracing, if set, makes each handled event a consumer span, child of
	// the span the event was written in (see [Event].Traceparent).
	Tracing trace.TracerProvider
	// Failpoints are for fault-injection tests only: crash tests kill the
	// process at these points to prove nothing is lost or applied twice.
	Failpoints Failpoints
	// ConnectWait is how long Connect keeps trying to reach a NATS server
	// that is not up yet (0: one attempt). Processes started together with
	// their NATS server (bellhop split) wait for it instead of failing.
	ConnectWait time.Duration
}

// Failpoints are called, if set, at the two moments where a crash is most
// interesting: a batch read from the outbox about to be published (its
// transaction has committed), and a batch acknowledged by JetStream but not
// yet marked published.
type Failpoints struct {
	BeforePublish func(module string)
	AfterPublish  func(module string)
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = "bellhop"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.DuplicateWindow <= 0 {
		o.DuplicateWindow = 2 * time.Minute
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	return o
}

// EmbeddedOptions configure the NATS server [StartEmbedded] runs in this
// process.
type EmbeddedOptions struct {
	// StoreDir holds JetStream's files; put it under the data directory.
	StoreDir string
	// Listen opens a client port on Host:Port for other processes; false
	// (the default) opens no listener at all: in-process clients only.
	Listen bool
	Host   string // default "127.0.0.1"
	Port   int    // 0: any free port (see [Bus.ClientURL])
	// SyncAlways makes JetStream fsync every message before acknowledging
	// it. Without it (the default) an acknowledged event survives the
	// process being killed but not the machine losing power (JetStream
	// syncs every 2 minutes), while the relay has already marked it
	// published. With it, every stored message costs an fsync.
	SyncAlways bool
	Options
}

// Bus is a connection to NATS JetStream, to an embedded server or an
// external one; relays, consumers and replays all go through it. It is safe
// for concurrent use.
type Bus struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	srv     *server.Server // the embedded server, or nil
	opts    Options
	log     *slog.Logger
	metrics *metrics
	tracer  trace.Tracer // nil: no spans

	admin     sync.Mutex           // serialises stream and consumer changes
	mu        sync.Mutex           // guards the maps below
	consumers map[string]*Consumer // subscriptions of this process by "<module>.<name>"
	streams   map[string]bool      // streams known to exist
}

// StartEmbedded starts a NATS server with JetStream in this process, storing
// its streams under o.StoreDir, and connects to it in-process. Close stops
// both.
func StartEmbedded(ctx context.Context, o EmbeddedOptions) (*Bus, error) {
	if o.StoreDir == "" {
		return nil, errors.New("events: the embedded NATS server needs a store directory")
	}
	opts := o.Options.withDefaults()
	host, port := o.Host, o.Port
	if host == "" {
		host = "127.0.0.1"
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "bellhop-embedded",
		Host:       host,
		Port:       port,
		DontListen: !o.Listen,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		SyncAlways: o.SyncAlways,
		NoSigs:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("events: embedded NATS server: %w", err)
	}
	srv.SetLoggerV2(natsLogger{opts.Log.With("component", "nats-server")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("events: embedded NATS server did not become ready in 10s")
	}
	nc, err := nats.Connect(srv.ClientURL(), nats.InProcessServer(srv), nats.Name(opts.Name), nats.MaxReconnects(-1))
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("events: connect to the embedded NATS server: %w", err)
	}
	b, err := newBus(ctx, nc, srv, opts)
	if err != nil {
		nc.Close()
		srv.Shutdown()
		return nil, err
	}
	return b, nil
}

// Connect connects to an external NATS server or cluster with JetStream
// enabled (events.nats.url). It reconnects on its own after losing the
// connection.
func Connect(ctx context.Context, url string, o Options) (*Bus, error) {
	opts := o.withDefaults()
	log := opts.Log
	nc, err := connectWaiting(ctx, url, opts.ConnectWait,
		nats.Name(opts.Name),
		nats.Timeout(5*time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }),
	)
	if err != nil {
		return nil, fmt.Errorf("events: connect to NATS at %s: %w", url, err)
	}
	b, err := newBus(ctx, nc, nil, opts)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
}

// connectWaiting connects to the NATS server at url, trying again with
// backoff while it refuses the connection, for up to wait.
func connectWaiting(ctx context.Context, url string, wait time.Duration, opts ...nats.Option) (*nats.Conn, error) {
	deadline := time.Now().Add(wait)
	for attempt := 1; ; attempt++ {
		nc, err := nats.Connect(url, opts...)
		if err == nil || !errors.Is(err, nats.ErrNoServers) || time.Now().After(deadline) {
			return nc, err
		}
		if !retry.Sleep(ctx, min(retry.Backoff(100*time.Millisecond, time.Second, attempt), time.Until(deadline))) {
			return nil, err
		}
	}
}

func newBus(ctx context.Context, nc *nats.Conn, srv *server.Server, o Options) (*Bus, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4*maxBatch), jetstream.WithPublishAsyncTimeout(30*time.Second))
	if err != nil {
		return nil, fmt.Errorf("events: jetstream: %w", err)
	}
	infoCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := js.AccountInfo(infoCtx); err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("events: the NATS server at %s does not have JetStream enabled (start it with -js)", nc.ConnectedUrlRedacted())
		}
		return nil, fmt.Errorf("events: jetstream account info: %w", err)
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	return &Bus{
		nc: nc, js: js, srv: srv, opts: o, log: o.Log, metrics: m,
		tracer:    observability.Tracer(o.Tracing, "bellhop/events"),
		consumers: map[string]*Consumer{},
		streams:   map[string]bool{},
	}, nil
}

// ClientURL is where other processes reach the embedded server, or "" when
// it does not listen (or the bus is connected to an external server).
func (b *Bus) ClientURL() string {
	if b.srv == nil || b.srv.Addr() == nil {
		return ""
	}
	return b.srv.ClientURL()
}

// Ping checks the connection answers; it is part of /readyz.
func (b *Bus) Ping(ctx context.Context) error {
	if s := b.nc.Status(); s != nats.CONNECTED {
		return fmt.Errorf("events: NATS connection is %s", s)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
	}
	if err := b.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("events: NATS ping: %w", err)
	}
	return nil
}

// Close closes the connection and stops the embedded server, if any. Stop
// the relays and consumers first.
func (b *Bus) Close() error {
	var err error
	if b.nc.IsConnected() { // without a server, a flush only waits out its timeout
		err = b.nc.FlushTimeout(time.Second)
	}
	b.nc.Close()
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
	if errors.Is(err, nats.ErrConnectionClosed) {
		err = nil
	}
	return err
}

// streamConfig is the one configuration of a module's stream, whoever
// creates it.
func (b *Bus) streamConfig(module string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamName(module),
		Description: "Bellhop events published by the " + module + " module",
		Subjects:    []string{"bellhop." + module + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		MaxAge:      b.opts.MaxAge,
		Duplicates:  b.opts.DuplicateWindow,
		Replicas:    b.opts.Replicas,
	}
}

// ensureStream makes sure module's stream exists. The publisher (update
// true) also brings an existing stream to the current configuration; a
// consumer only creates it when missing (its publisher may live in a process
// not started yet) and leaves an existing one alone.
//
// Stream and consumer changes of one bus are serialised, and a stream whose
// configuration is already right is not updated: nats-server 2.15 races
// (under the race detector) between a stream update and a consumer creation
// on the same stream.
func (b *Bus) ensureStream(ctx context.Context, module string, update bool) error {
	name := StreamName(module)
	b.mu.Lock()
	known := b.streams[name]
	b.mu.Unlock()
	if known && !update {
		return nil
	}
	b.admin.Lock()
	defer b.admin.Unlock()
	want := b.streamConfig(module)
	s, err := b.js.Stream(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		_, err = b.js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // created meanwhile by another process
		}
	case err == nil && update && !sameStreamConfig(s.CachedInfo().Config, want):
		_, err = b.js.UpdateStream(ctx, want)
	}
	if err != nil {
		return fmt.Errorf("events: stream %s: %w", name, err)
	}
	b.mu.Lock()
	b.streams[name] = true
	b.mu.Unlock()
	return nil
}

// sameStreamConfig compares the settings streamConfig chooses.
func sameStreamConfig(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) &&
		have.Description == want.Description &&
		have.Retention == want.Retention &&
		have.Discard == want.Discard &&
		have.Storage == want.Storage &&
		have.MaxAge == want.MaxAge &&
		have.Duplicates == want.Duplicates &&
		have.Replicas == want.Replicas
}

// createConsumer creates or updates a durable consumer (serialised with the
// stream changes, see ensureStream).
func (b *Bus) createConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	b.admin.Lock()
	defer b.admin.Unlock()
	return b.js.CreateOrUpdateConsumer(ctx, stream, cfg)
}

// natsLogger sends the embedded server's log to slog. Its notices (a dozen
// lines of banner at start) are debug here.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
