/*
 * c_server: a minimal line server in C with epoll, the practical ceiling the
 * benchmark compares ledctl with. Same wire shapes as protocol v1 for what the
 * benchmark sends (status, hello, on, off, blink, quit; anything else gets
 * ERR unknown-command), same idle timeout (ERR idle-timeout then FIN), same
 * cap (ERR busy then FIN). No LED, no frame timeout, no logging, one thread.
 * A reply that does not fit the socket buffer at once drops the client
 * (never happens with a client that reads its replies).
 *
 *   c_server PORT IDLE_MS MAX_CLIENTS     (IDLE_MS 0 = never)
 *
 * Idle connections are kept in a list ordered by last activity (a byte moves
 * a connection to the tail), so the next expiry is always the head's: exact
 * timeouts in O(1) per event.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE 1024

typedef struct conn {
  int fd;
  unsigned id;
  int64_t last; /* µs, monotonic */
  struct conn *prev, *next;
  size_t len;
  char addr[32];
  char in[MAX_LINE + 1];
} conn_t;

static conn_t *g_head, *g_tail; /* least recently active first */
static int64_t g_idle_ms;
static unsigned g_next_id = 1;
static long g_clients;
static char g_state[32] = "off";
static volatile sig_atomic_t g_stop;

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void unlink_conn(conn_t *c) {
  if (c->prev) c->prev->next = c->next;
  else g_head = c->next;
  if (c->next) c->next->prev = c->prev;
  else g_tail = c->prev;
  c->prev = c->next = NULL;
}

static void append_conn(conn_t *c) {
  c->prev = g_tail;
  c->next = NULL;
  if (g_tail) g_tail->next = c;
  else g_head = c;
  g_tail = c;
}

static void close_conn(conn_t *c) {
  unlink_conn(c);
  close(c->fd);
  free(c);
  g_clients--;
}

/* Writes a whole reply or reports failure. */
static int send_all(int fd, const char *s, size_t n) {
  ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
  return w == (ssize_t)n ? 0 : -1;
}

/* Appends the reply to one request line to out; returns 1 if the server should close. */
static int answer(conn_t *c, char *line, size_t n, char *out, size_t cap, size_t *used) {
  while (n > 0 && (line[n - 1] == '\r')) n--;
  line[n] = 0;
  char *p = line;
  while (*p == ' ' || *p == '\t') p++;
  char verb[32];
  size_t v = 0;
  while (*p && *p != ' ' && *p != '\t' && v < sizeof verb - 1) verb[v++] = (char)tolower((unsigned char)*p++);
  while (v > 0 && ispunct((unsigned char)verb[v - 1])) v--;
  verb[v] = 0;
  while (*p == ' ' || *p == '\t') p++;
  char *o = out + *used;
  size_t room = cap - *used;
  int w, close_after = 0;
  if (!strcmp(verb, "status") || !strcmp(verb, "etat")) {
    w = snprintf(o, room, "OK %s\n", g_state);
  } else if (!strcmp(verb, "on") || !strcmp(verb, "off")) {
    snprintf(g_state, sizeof g_state, "%s", verb);
    w = snprintf(o, room, "OK %s\n", g_state);
  } else if (!strcmp(verb, "blink")) {
    char *end;
    double hz = strtod(p, &end);
    if (end == p || !(hz >= 0.05 && hz <= 500)) {
      w = snprintf(o, room, "ERR bad-argument blink needs 0.05..500 Hz\n");
    } else {
      snprintf(g_state, sizeof g_state, "blink %g Hz", hz);
      w = snprintf(o, room, "OK %s\n", g_state);
    }
  } else if (!strcmp(verb, "hello")) {
    /* the name follows the last "from " preceded by a blank (or at start) */
    const char *name = p;
    for (const char *q = p; *q; q++) {
      if ((q == p || q[-1] == ' ') && !strncasecmp(q, "from ", 5) && q[5]) name = q + 5;
    }
    char fallback[32];
    if (!*name) {
      snprintf(fallback, sizeof fallback, "client #%u", c->id);
      name = fallback;
    }
    w = snprintf(o, room, "OK hello %.200s: you are client #%u from %s\n", name, c->id, c->addr);
  } else if (!strcmp(verb, "quit") || !strcmp(verb, "bye")) {
    w = snprintf(o, room, "OK bye\n");
    close_after = 1;
  } else {
    w = snprintf(o, room, "ERR unknown-command \"%.64s\" (try: help)\n", verb);
  }
  if (w > 0 && (size_t)w < room) *used += (size_t)w;
  return close_after;
}

/* Reads and answers; returns -1 when the connection must be closed. */
static int on_input(conn_t *c) {
  char buf[4096];
  char out[8192];
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n == 0) {
      size_t used = 0; /* half-close: a pending partial line is complete */
      if (c->len > 0) {
        answer(c, c->in, c->len, out, sizeof out, &used);
        send_all(c->fd, out, used);
      }
      return -1;
    }
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    c->last = now_us();
    unlink_conn(c);
    append_conn(c);
    size_t used = 0;
    int close_after = 0;
    for (ssize_t i = 0; i < n && !close_after; i++) {
      if (buf[i] == '\n') {
        close_after = answer(c, c->in, c->len, out, sizeof out, &used);
        c->len = 0;
        if (used > sizeof out - 512) {
          if (send_all(c->fd, out, used) < 0) return -1;
          used = 0;
        }
      } else if (c->len < MAX_LINE) {
        c->in[c->len++] = buf[i];
      } else {
        static const char too_long[] = "ERR line-too-long line exceeds 1024 bytes; closing\n";
        memcpy(out + used, too_long, sizeof too_long - 1);
        used += sizeof too_long - 1;
        close_after = 1;
      }
    }
    if (used > 0 && send_all(c->fd, out, used) < 0) return -1;
    if (close_after) {
      shutdown(c->fd, SHUT_WR);
      return -1;
    }
    if ((size_t)n < sizeof buf) return 0;
  }
}

static void on_term(int sig) {
  (void)sig;
  g_stop = 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: c_server PORT IDLE_MS MAX_CLIENTS\n");
    return 2;
  }
  int port = atoi(argv[1]);
  g_idle_ms = atoll(argv[2]);
  long max_clients = atol(argv[3]);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  struct rlimit rl = {1 << 16, 1 << 16};
  setrlimit(RLIMIT_NOFILE, &rl);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0) {
    perror("c_server: listen");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  printf("c_server listening on 127.0.0.1:%d\n", port);
  fflush(stdout);

  struct epoll_event evs[256];
  while (!g_stop) {
    int timeout = -1;
    if (g_idle_ms > 0 && g_head) {
      int64_t left = g_head->last + g_idle_ms * 1000 - now_us();
      timeout = left <= 0 ? 0 : (int)((left + 999) / 1000); /* never wake early */
    }
    int k = epoll_wait(ep, evs, 256, timeout);
    for (int i = 0; i < k; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c == NULL) {
        for (;;) {
          struct sockaddr_in peer;
          socklen_t plen = sizeof peer;
          int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          if (g_clients >= max_clients) {
            static const char busy[] = "ERR busy server is at its client limit; try again later\n";
            send_all(fd, busy, sizeof busy - 1);
            close(fd);
            continue;
          }
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn_t *nc = calloc(1, sizeof *nc);
          if (!nc) {
            close(fd);
            continue;
          }
          nc->fd = fd;
          nc->id = g_next_id++;
          nc->last = now_us();
          char ip[INET_ADDRSTRLEN];
          inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
          snprintf(nc->addr, sizeof nc->addr, "%s:%u", ip, ntohs(peer.sin_port));
          append_conn(nc);
          g_clients++;
          struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
      } else if (on_input(c) < 0) {
        close_conn(c);
      }
    }
    if (g_idle_ms > 0) {
      int64_t now = now_us();
      while (g_head && now - g_head->last >= g_idle_ms * 1000) {
        char msg[96];
        int n = snprintf(msg, sizeof msg, "ERR idle-timeout no data for %lld ms; closing\n",
                         (long long)g_idle_ms);
        send_all(g_head->fd, msg, (size_t)n);
        shutdown(g_head->fd, SHUT_WR);
        close_conn(g_head);
      }
    }
  }
  while (g_head) close_conn(g_head);
  close(lfd);
  return 0;
}
