package observability

import "time"

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
