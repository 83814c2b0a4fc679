// Package eventspg runs platform/events against PostgreSQL (a throwaway
// cluster from platform/db/pgtest): the outbox, inbox and dead-letter SQL is
// written once for SQLite and PostgreSQL, and these tests keep it honest. It
// holds no code of its own.
package eventspg
