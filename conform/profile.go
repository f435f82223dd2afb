package conform

import "berth/tcp"

// LinuxProfile is the TCP configuration scripts run against:
// tcp.DefaultConfig (berth's Linux profile: initial window 10, RTO 1 s
// initial and 200 ms minimum, 40 ms delayed ACKs with quick ACKs, window
// scale 8, timestamps, SACK-permitted as every script's SYN and SYN-ACK
// carry it) with PSH placed as Linux places it (tcp.Config.PushBursts), a
// quirk berth's default leaves out.
func LinuxProfile() *tcp.Config {
	c := tcp.DefaultConfig()
	c.SACKPermitted = true
	c.PushBursts = true
	return c
}
