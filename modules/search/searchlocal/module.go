// Package searchlocal is the in-process search module: the catalog in its own
// database, the in-memory index searches run on, the demo catalog and the
// module's lifecycle. cmd/bellhop builds it with New and hosts it.
package searchlocal

import (
	"context"
	"log/slog"

	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/validation"
)

// Deps are what the module needs from its host.
type Deps struct {
	DB  *db.DB // the module's own database, migrated with Migrations
	Log *slog.Logger
}

// Module is the search module hosted in this process.
type Module struct {
	svc *Service
	log *slog.Logger
}

// New builds the module. It starts nothing: Run does.
func New(d Deps) *Module {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Module{
		svc: &Service{db: d.DB, index: newIndex(d.DB), validate: validation.New()},
		log: log.With("module", search.Module),
	}
}

// Service is the module's search.Service.
func (m *Module) Service() search.Service { return m.svc }

// Run runs the module's background work until ctx is done. Search has none of
// its own yet: booking events will feed its availability view here.
func (m *Module) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
