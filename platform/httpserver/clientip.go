package httpserver

import (
	"net"
	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"
)

// ipExtractor believes X-Forwarded-For only when the direct peer (and each
// hop walked back through the header) is in one of the trusted ranges.
// Nothing is trusted by default: not loopback, link-local or private networks.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{
		echo.TrustLoopback(false),
		echo.TrustLinkLocal(false),
		echo.TrustPrivateNet(false),
	}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// ClientIP is the client's IP address: the direct peer, or what a trusted
// proxy put in X-Forwarded-For (see Config.TrustedProxies). Unlike
// echo.Context.RealIP it never believes headers on an Echo without an
// IPExtractor.
func ClientIP(c echo.Context) string {
	if x := c.Echo().IPExtractor; x != nil {
		return x(c.Request())
	}
	return directIP(c.Request())
}

func directIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ipKey is the rate-limit key for an IP: IPv4 addresses as they are, IPv6
// addresses by their /64 (one subscriber usually holds a whole /64, so keying
// on the full address would let a client pick a fresh key per request).
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "ip:" + ip
	}
	a = a.Unmap()
	if a.Is4() {
		return "ip:" + a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return "ip6:" + p.String()
}
