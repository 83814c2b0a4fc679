package observability

import (
	"context"
	"time"
)

// Call times one in-process call along e and returns its results: what a
// module's instrumenting decorator does for each method. With a tracer on
// the edge the call is also a span ("<callee>.<method>"), and call runs with
// it in its context. Remote calls are recorded by platform/httpclient under
// the same metric and span names.
func Call[T any](ctx context.Context, e Edge, method string, call func(context.Context) (T, error)) (T, error) {
	start := time.Now()
	ctx, span := e.StartSpan(ctx, method)
	v, err := call(ctx)
	e.Observe(method, start, err)
	EndSpan(span, err)
	return v, err
}

// CallErr is Call for a method that returns only an error.
func CallErr(ctx context.Context, e Edge, method string, call func(context.Context) error) error {
	start := time.Now()
	ctx, span := e.StartSpan(ctx, method)
	err := call(ctx)
	e.Observe(method, start, err)
	EndSpan(span, err)
	return err
}
