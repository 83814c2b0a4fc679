package main

import (
	"github.com/bellhop/bellhop/modules/auth/authmodule"
	"github.com/bellhop/bellhop/modules/bookings/bookingsmodule"
	"github.com/bellhop/bellhop/modules/payments/paymentsmodule"
	"github.com/bellhop/bellhop/modules/search/searchmodule"
	"github.com/bellhop/bellhop/platform/host"
)

// bellhopModules are the modules this binary can host or call, each
// described by its own folder. Adding a module: its folder, and one line
// here.
func bellhopModules() []host.Module {
	return []host.Module{
		authmodule.Module(),
		bookingsmodule.Module(),
		paymentsmodule.Module(),
		searchmodule.Module(),
	}
}
