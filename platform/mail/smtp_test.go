package mail_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/mail"
)

// smtpServer is a minimal SMTP server on loopback for the sender's edge
// cases: it answers each command as reply says and counts the messages it
// accepted (its 250 to the end of DATA).
type smtpServer struct {
	addr *net.TCPAddr
	// reply answers a command (upper-cased verb and its arguments); "" drops
	// the connection.
	reply func(cmd string) string

	mu       sync.Mutex
	accepted int
}

func startSMTP(t *testing.T, reply func(cmd string) string) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{addr: ln.Addr().(*net.TCPAddr), reply: reply}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serve(conn)
			}()
		}
	}()
	return s
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	say := func(line string) bool {
		if line == "" {
			return false
		}
		_, err := conn.Write([]byte(line + "\r\n"))
		return err == nil
	}
	say("220 test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0])
		switch verb {
		case "EHLO", "HELO":
			if !say("250 test") {
				return
			}
		case "DATA":
			if !say("354 go on") {
				return
			}
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			answer := s.reply("END-OF-DATA")
			if strings.HasPrefix(answer, "250") {
				s.mu.Lock()
				s.accepted++
				s.mu.Unlock()
			}
			if !say(answer) {
				return
			}
		default:
			if !say(s.reply(verb)) {
				return
			}
		}
	}
}

func (s *smtpServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

func (s *smtpServer) sender(t *testing.T) *mail.SMTP {
	t.Helper()
	snd, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: s.addr.Port, TLSPolicy: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return snd
}

var smtpMessage = mail.Message{From: "Bellhop <r@bellhop.test>", To: "zoe@example.test", Subject: "Your receipt",
	MessageID: "doc_1@bellhop.test", Text: "plain part"}

// Once the server has accepted the message, the send succeeded: a
// connection lost afterwards (on go-mail's NOOP/RSET or on QUIT) must not
// make the caller send it again, which would mail the guest twice.
func TestSMTP_AcceptedThenConnectionLost_IsSent(t *testing.T) {
	t.Parallel()
	for _, dropOn := range []string{"NOOP", "RSET", "QUIT"} {
		t.Run(dropOn, func(t *testing.T) {
			t.Parallel()
			afterData := false
			srv := startSMTP(t, func(cmd string) string {
				switch {
				case cmd == "END-OF-DATA":
					afterData = true
					return "250 queued"
				case afterData && cmd == dropOn:
					return "" // the connection drops
				case cmd == "QUIT":
					return "221 bye"
				}
				return "250 ok"
			})
			if err := srv.sender(t).Send(context.Background(), smtpMessage); err != nil {
				t.Fatalf("the server accepted the message, then the connection dropped on %s: Send said %v, want success", dropOn, err)
			}
			if n := srv.count(); n != 1 {
				t.Fatalf("server accepted %d messages, want 1", n)
			}
		})
	}
}

// A message the server refuses, or a connection lost before the end of
// DATA was answered, is a failure: the caller retries it.
func TestSMTP_NotAccepted_IsAnError(t *testing.T) {
	t.Parallel()
	for name, atData := range map[string]string{"refused": "554 no thanks", "dropped": ""} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := startSMTP(t, func(cmd string) string {
				switch cmd {
				case "END-OF-DATA":
					return atData
				case "QUIT":
					return "221 bye"
				}
				return "250 ok"
			})
			if err := srv.sender(t).Send(context.Background(), smtpMessage); err == nil {
				t.Fatal("Send succeeded, but the server never accepted the message")
			}
			if n := srv.count(); n != 0 {
				t.Fatalf("server accepted %d messages, want 0", n)
			}
		})
	}
}
