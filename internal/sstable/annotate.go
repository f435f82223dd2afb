package sstable

import (
	"berth/port"
	"berth/port/services"
)

// Annotate fills Service and Suspicious of TCP and UDP rows from lookup,
// which is given the protocol ("tcp" or "udp") and local port and returns
// the registered service name and an abuse note ("" for none). berth's
// table and the host's use the same registry this way (RegistryLookup).
// Raw rows have no port and are left alone, as are rows whose port is 0.
//
// Service is the local port's registration, not proof of what listens
// there. Suspicious is kept only where the port is served: on a listening
// socket, or on a connection whose local port a listener in the table also
// holds (an accepted connection). An outbound connection that happened to
// draw 40421 from the ephemeral range is not Masters Paradise.
func Annotate(rows []Row, lookup func(proto string, port uint16) (service, suspicious string)) {
	type key struct {
		proto string
		port  uint16
	}
	served := make(map[key]bool)
	for _, r := range rows {
		if r.Listening() {
			served[key{r.Proto, r.Local.Port()}] = true
		}
	}
	for i := range rows {
		r := &rows[i]
		p := r.Local.Port()
		if (r.Proto != TCP && r.Proto != UDP) || p == 0 {
			continue
		}
		svc, note := lookup(r.Proto, p)
		r.Service, r.Suspicious = svc, ""
		if served[key{r.Proto, p}] {
			r.Suspicious = note
		}
	}
}

// RegistryLookup is Annotate's lookup backed by berth's service registry
// (IANA's table plus /etc/services) and its list of ports with a history
// of abuse.
func RegistryLookup(proto string, p uint16) (service, suspicious string) {
	pr, ok := port.ParseProtocol(proto)
	if !ok {
		return "", ""
	}
	service = services.Default().Name(pr, p)
	if n, ok := services.Suspicious(pr, p); ok {
		suspicious = "default port of " + n.Name
	}
	return service, suspicious
}
