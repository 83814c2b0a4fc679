package observability

import (
	"context"
	"time"
)

// Call times one in-process call along e and returns its results: what a
// module's instrumenting decorator does for each method. Remote calls are
// recorded by platform/httpclient under the same metric names.
func Call[T any](e Edge, method string, call func() (T, error)) (T, error) {
	start := time.Now()
	v, err := call()
	e.Observe(method, start, err)
	return v, err
}

// CallErr is Call for a method that returns only an error.
func CallErr(e Edge, method string, call func() error) error {
	start := time.Now()
	err := call()
	e.Observe(method, start, err)
	return err
}

// CallIn is Call for a call made in ctx: besides the edge metrics it counts
// the call under the public route ctx is serving, and samples the size of
// the answer as JSON (what it would weigh over HTTP), for the split advisor.
func CallIn[T any](ctx context.Context, e Edge, method string, call func() (T, error)) (T, error) {
	start := time.Now()
	v, err := call()
	e.observe(ctx, method, start, err, v)
	return v, err
}

// CallInErr is CallIn for a method that returns only an error.
func CallInErr(ctx context.Context, e Edge, method string, call func() error) error {
	start := time.Now()
	err := call()
	e.observe(ctx, method, start, err, nil)
	return err
}
