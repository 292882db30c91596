/*
 * loadgen: the client side of `deno task bench`. One thread, epoll, non-blocking
 * sockets, so that on a small machine the client costs less CPU than the
 * server it measures. Loopback only. Every mode stops by itself (deadlines).
 *
 *   loadgen rt   PORT CLIENTS WARMUP_MS MS SERVER_PID
 *       CLIENTS persistent connections, each in a loop: send "status\n", wait
 *       for the reply line, repeat. Measures round trips in the MS window that
 *       follows WARMUP_MS, their latency, and the server's CPU time
 *       (/proc/PID/stat utime+stime) over that window.
 *   loadgen cps  PORT WORKERS WARMUP_MS MS SERVER_PID
 *       WORKERS concurrent loops of: connect, send "status\n", read the reply,
 *       close.
 *   loadgen hold PORT CLIENTS HOLD_MS SERVER_PID
 *       opens CLIENTS connections (each sends "status\n" and gets its reply),
 *       reads the server's RSS, holds them HOLD_MS, then asks every one again.
 *   loadgen idle PORT CLIENTS SPREAD_MS TIMEOUT_MS
 *       CLIENTS connections; client i sends "status\n" at i*SPREAD_MS/CLIENTS,
 *       reads the reply, then stays silent and times how long after its last
 *       byte the server's EOF arrives.
 *
 * Prints one JSON object on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define SOURCES 16       /* source addresses 127.0.0.1 .. 127.0.0.16 */
#define MAX_INFLIGHT 128 /* connects in progress at once (SYN backlog) */
#define FINE_NS 100      /* histogram: 100 ns buckets below 100 ms ... */
#define FINE_N 1000000
#define COARSE_N 120000 /* ... then 1 ms buckets up to 120 s */

static const char REQ[] = "status\n";
#define REQ_LEN (sizeof REQ - 1)

static uint16_t g_port;
static int g_ep;
static long g_errors;
static char g_first_error[160];

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void note_error(const char *what, int err) {
  if (g_errors++ == 0) snprintf(g_first_error, sizeof g_first_error, "%s: %s", what, strerror(err));
}

/* ---- latency histogram ---- */
static uint32_t *g_fine, *g_coarse;
static uint64_t g_samples;

static void hist_init(void) {
  g_fine = calloc(FINE_N, sizeof *g_fine);
  g_coarse = calloc(COARSE_N, sizeof *g_coarse);
  if (!g_fine || !g_coarse) {
    perror("calloc");
    exit(2);
  }
}

static void hist_add(int64_t ns) {
  if (ns < 0) ns = 0;
  if (ns < (int64_t)FINE_NS * FINE_N) {
    g_fine[ns / FINE_NS]++;
  } else {
    int64_t ms = ns / 1000000;
    g_coarse[ms < COARSE_N ? ms : COARSE_N - 1]++;
  }
  g_samples++;
}

/* Microseconds at quantile q (0..1), upper edge of the bucket. */
static double hist_q(double q) {
  if (g_samples == 0) return 0;
  uint64_t want = (uint64_t)(q * (double)g_samples);
  if (want >= g_samples) want = g_samples - 1;
  uint64_t seen = 0;
  for (long i = 0; i < FINE_N; i++) {
    seen += g_fine[i];
    if (seen > want) return (double)(i + 1) * FINE_NS / 1000.0;
  }
  for (long i = 0; i < COARSE_N; i++) {
    seen += g_coarse[i];
    if (seen > want) return (double)(i + 1) * 1000.0;
  }
  return (double)COARSE_N * 1000.0;
}

/* ---- process figures ---- */
static double proc_cpu_ms(int pid) {
  if (pid <= 0) return -1;
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* comm may hold spaces */
  if (!p) return -1;
  unsigned long utime = 0, stime = 0;
  /* after ')': state(3) ... utime is field 14, stime 15 */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) {
    return -1;
  }
  return (double)(utime + stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static long proc_rss_kb(int pid, const char *key) {
  if (pid <= 0) return -1;
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long kb = -1;
  size_t klen = strlen(key);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
      kb = strtol(line + klen + 1, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kb;
}

static double self_cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

/* ---- connections ---- */
enum state { FREE, CONNECTING, WAITING, READY, DONE };

typedef struct {
  int fd;
  enum state st;
  int64_t sent; /* when the last request left, ns */
  int64_t t0;   /* when the connect started (cps), ns */
  int got;      /* bytes of the current reply line */
  char first[4];
  int idx;
  int saw_idle_err;
  long nrt;      /* round trips in the measured window (rt) */
  int64_t worst; /* longest wait for a reply in it, ns */
} conn_t;

static conn_t *g_conns;

static int open_conn(conn_t *c) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    note_error("socket", errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  struct sockaddr_in src = {.sin_family = AF_INET};
  src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(c->idx % SOURCES));
  if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
    note_error("bind", errno);
    close(fd);
    return -1;
  }
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(g_port)};
  dst.sin_addr.s_addr = htonl(0x7f000001u);
  c->fd = fd;
  c->got = 0;
  c->t0 = now_ns();
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
    note_error("connect", errno);
    close(fd);
    c->fd = -1;
    return -1;
  }
  c->st = CONNECTING;
  epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

static void drop(conn_t *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->st = DONE;
}

static int send_req(conn_t *c) {
  c->sent = now_ns();
  c->got = 0;
  ssize_t w = send(c->fd, REQ, REQ_LEN, MSG_NOSIGNAL);
  if (w != (ssize_t)REQ_LEN) {
    note_error("send", w < 0 ? errno : EAGAIN);
    return -1;
  }
  return 0;
}

/* Connect finished (EPOLLOUT): check it, send the first request, wait for input. */
static int on_connected(conn_t *c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) {
    note_error("connect", err);
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
  c->st = WAITING;
  return send_req(c);
}

/*
 * Reads what is there. Returns the number of complete reply lines (0 or more),
 * -1 on error, -2 on EOF. A line whose first bytes are not "OK" is an error
 * (except "ERR idle-timeout", noted in idle mode).
 */
static int on_readable(conn_t *c) {
  char buf[4096];
  int lines = 0;
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n == 0) return lines > 0 ? lines : -2;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return lines;
      note_error("recv", errno);
      return -1;
    }
    for (ssize_t i = 0; i < n; i++) {
      if (c->got < 3) c->first[c->got] = buf[i];
      if (buf[i] == '\n') {
        if (c->got >= 3 && memcmp(c->first, "ERR", 3) == 0) {
          c->saw_idle_err = 1;
        } else if (c->got < 2 || memcmp(c->first, "OK", 2) != 0) {
          note_error("reply not OK", EPROTO);
          return -1;
        }
        lines++;
        c->got = 0;
      } else {
        c->got++;
      }
    }
    if ((size_t)n < sizeof buf) return lines;
  }
}

static conn_t *alloc_conns(int n) {
  conn_t *cs = calloc((size_t)n, sizeof *cs);
  if (!cs) {
    perror("calloc");
    exit(2);
  }
  for (int i = 0; i < n; i++) {
    cs[i].fd = -1;
    cs[i].idx = i;
  }
  return cs;
}

/*
 * Opens n connections, at most MAX_INFLIGHT at a time; each sends one request
 * and gets its reply. Returns how many are READY. Gives up at `deadline`.
 */
static int establish(conn_t *cs, int n, int64_t deadline) {
  int next = 0, inflight = 0, ready = 0, failed = 0;
  struct epoll_event evs[512];
  while (ready + failed < n && now_ns() < deadline) {
    while (next < n && inflight < MAX_INFLIGHT) {
      if (open_conn(&cs[next]) == 0) {
        inflight++;
      } else {
        cs[next].st = DONE;
        failed++;
      }
      next++;
    }
    int k = epoll_wait(g_ep, evs, 512, 100);
    for (int i = 0; i < k; i++) {
      conn_t *c = evs[i].data.ptr;
      int r = 0;
      if (c->st == CONNECTING) {
        r = on_connected(c);
      } else if (c->st == WAITING) {
        r = on_readable(c);
        if (r > 0) {
          c->st = READY;
          inflight--;
          ready++;
          continue;
        }
        if (r == -2) note_error("establish", ECONNRESET);
      }
      if (r < 0) {
        drop(c);
        inflight--;
        failed++;
      }
    }
  }
  return ready;
}

/* ---- modes ---- */
static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int mode_rt(int clients, int warm_ms, int ms, int pid) {
  hist_init();
  g_conns = alloc_conns(clients);
  int ready = establish(g_conns, clients, now_ns() + 30000000000LL);
  int64_t start = now_ns();
  int64_t t_measure = start + (int64_t)warm_ms * 1000000;
  int64_t t_end = t_measure + (int64_t)ms * 1000000;
  int measuring = 0;
  double cpu0 = 0, self0 = 0;
  uint64_t count = 0;
  for (int i = 0; i < clients; i++) {
    if (g_conns[i].st == READY && send_req(&g_conns[i]) < 0) drop(&g_conns[i]);
  }
  struct epoll_event evs[1024];
  for (;;) {
    int64_t now = now_ns();
    if (!measuring && now >= t_measure) {
      measuring = 1;
      cpu0 = proc_cpu_ms(pid);
      self0 = self_cpu_ms();
      t_measure = now;
    }
    if (now >= t_end) break;
    int k = epoll_wait(g_ep, evs, 1024, 10);
    now = now_ns();
    for (int i = 0; i < k; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c->st != READY) continue;
      int r = on_readable(c);
      if (r < 0) {
        if (r == -2) note_error("server closed", ECONNRESET);
        drop(c);
        continue;
      }
      if (r == 0) continue;
      if (measuring) {
        hist_add(now - c->sent);
        count++;
        c->nrt++;
        if (now - c->sent > c->worst) c->worst = now - c->sent;
      }
      if (send_req(c) < 0) drop(c);
    }
  }
  int64_t t_stop = now_ns();
  double cpu1 = proc_cpu_ms(pid), self1 = self_cpu_ms();
  double secs = (double)(t_stop - t_measure) / 1e9;
  /* Fairness: round trips per connection, and each connection's worst wait. */
  int64_t *per = calloc((size_t)clients, sizeof *per);
  int64_t *worst = calloc((size_t)clients, sizeof *worst);
  if (!per || !worst) return 2;
  int np = 0;
  for (int i = 0; i < clients; i++) {
    if (g_conns[i].st != READY) continue;
    per[np] = g_conns[i].nrt;
    /* a request still unanswered at the end is a wait too */
    int64_t open_wait = t_stop - g_conns[i].sent;
    worst[np++] = open_wait > g_conns[i].worst ? open_wait : g_conns[i].worst;
  }
  qsort(per, (size_t)np, sizeof *per, cmp_i64);
  qsort(worst, (size_t)np, sizeof *worst, cmp_i64);
  printf("{\"mode\":\"rt\",\"clients\":%d,\"connected\":%d,\"roundTrips\":%llu,\"seconds\":%.3f,"
         "\"rps\":%.1f,\"p50Us\":%.1f,\"p90Us\":%.1f,\"p99Us\":%.1f,\"p999Us\":%.1f,\"maxUs\":%.1f,"
         "\"serverCpuMs\":%.1f,\"clientCpuMs\":%.1f,\"perConnMin\":%lld,\"perConnMedian\":%lld,"
         "\"perConnMax\":%lld,\"worstWaitMedianUs\":%.1f,\"worstWaitMaxUs\":%.1f,"
         "\"errors\":%ld,\"firstError\":\"%s\"}\n",
         clients, ready, (unsigned long long)count, secs, (double)count / secs, hist_q(0.5),
         hist_q(0.9), hist_q(0.99), hist_q(0.999), hist_q(1.0), cpu1 - cpu0, self1 - self0,
         (long long)(np ? per[0] : 0), (long long)(np ? per[np / 2] : 0),
         (long long)(np ? per[np - 1] : 0), np ? (double)worst[np / 2] / 1000.0 : 0.0,
         np ? (double)worst[np - 1] / 1000.0 : 0.0, g_errors, g_first_error);
  free(per);
  free(worst);
  return 0;
}

static int mode_cps(int workers, int warm_ms, int ms, int pid) {
  hist_init();
  /* Worker slots are reused; idx rotates the source address. */
  g_conns = alloc_conns(workers);
  int64_t start = now_ns();
  int64_t t_measure = start + (int64_t)warm_ms * 1000000;
  int64_t t_end = t_measure + (int64_t)ms * 1000000;
  int measuring = 0;
  double cpu0 = 0, self0 = 0;
  uint64_t count = 0;
  unsigned serial = 0;
  for (int i = 0; i < workers; i++) {
    g_conns[i].idx = (int)(serial++);
    if (open_conn(&g_conns[i]) < 0) g_conns[i].st = FREE;
  }
  struct epoll_event evs[256];
  for (;;) {
    int64_t now = now_ns();
    if (!measuring && now >= t_measure) {
      measuring = 1;
      cpu0 = proc_cpu_ms(pid);
      self0 = self_cpu_ms();
      t_measure = now;
    }
    if (now >= t_end) break;
    int k = epoll_wait(g_ep, evs, 256, 10);
    for (int i = 0; i < k; i++) {
      conn_t *c = evs[i].data.ptr;
      int r = 0;
      if (c->st == CONNECTING) {
        r = on_connected(c);
        if (r == 0) continue;
      } else if (c->st == WAITING) {
        r = on_readable(c);
        if (r == 0) continue;
        if (r > 0 && measuring) {
          hist_add(now_ns() - c->t0);
          count++;
        }
        if (r == -2) note_error("server closed", ECONNRESET);
      } else {
        continue;
      }
      drop(c);
      c->idx = (int)(serial++);
      if (open_conn(c) < 0) c->st = FREE;
    }
    /* a slot whose connect failed at once: retry it */
    for (int i = 0; i < workers; i++) {
      if (g_conns[i].st == FREE) {
        g_conns[i].idx = (int)(serial++);
        if (open_conn(&g_conns[i]) < 0) g_conns[i].st = FREE;
      }
    }
  }
  int64_t t_stop = now_ns();
  double cpu1 = proc_cpu_ms(pid), self1 = self_cpu_ms();
  for (int i = 0; i < workers; i++) drop(&g_conns[i]);
  double secs = (double)(t_stop - t_measure) / 1e9;
  printf("{\"mode\":\"cps\",\"workers\":%d,\"connections\":%llu,\"seconds\":%.3f,\"cps\":%.1f,"
         "\"p50Us\":%.1f,\"p99Us\":%.1f,\"serverCpuMs\":%.1f,\"clientCpuMs\":%.1f,"
         "\"errors\":%ld,\"firstError\":\"%s\"}\n",
         workers, (unsigned long long)count, secs, (double)count / secs, hist_q(0.5),
         hist_q(0.99), cpu1 - cpu0, self1 - self0, g_errors, g_first_error);
  return 0;
}

/* Sends one request on every READY connection; returns how many got a reply in time. */
static int ask_all(conn_t *cs, int n, int64_t deadline) {
  int waiting = 0, answered = 0;
  for (int i = 0; i < n; i++) {
    if (cs[i].st != READY) continue;
    if (send_req(&cs[i]) < 0) {
      drop(&cs[i]);
      continue;
    }
    cs[i].st = WAITING;
    waiting++;
  }
  struct epoll_event evs[512];
  while (waiting > 0 && now_ns() < deadline) {
    int k = epoll_wait(g_ep, evs, 512, 100);
    for (int i = 0; i < k; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c->st != WAITING) continue;
      int r = on_readable(c);
      if (r == 0) continue;
      waiting--;
      if (r > 0) {
        c->st = READY;
        answered++;
      } else {
        if (r == -2) note_error("server closed", ECONNRESET);
        drop(c);
      }
    }
  }
  return answered;
}

static int mode_hold(int clients, int hold_ms, int pid) {
  g_conns = alloc_conns(clients);
  long rss0 = proc_rss_kb(pid, "VmRSS");
  int64_t t0 = now_ns();
  int ready = establish(g_conns, clients, t0 + 60000000000LL);
  double open_s = (double)(now_ns() - t0) / 1e9;
  long rss = proc_rss_kb(pid, "VmRSS");
  int64_t until = now_ns() + (int64_t)hold_ms * 1000000;
  struct epoll_event evs[64];
  int closed_early = 0;
  while (now_ns() < until) {
    int k = epoll_wait(g_ep, evs, 64, 50);
    for (int i = 0; i < k; i++) { /* nothing should arrive while we hold */
      conn_t *c = evs[i].data.ptr;
      if (c->st == READY && on_readable(c) < 0) {
        drop(c);
        closed_early++;
      }
    }
  }
  int alive = ask_all(g_conns, clients, now_ns() + 30000000000LL);
  long rss_after = proc_rss_kb(pid, "VmRSS");
  long hwm = proc_rss_kb(pid, "VmHWM");
  printf("{\"mode\":\"hold\",\"clients\":%d,\"connected\":%d,\"openSeconds\":%.3f,"
         "\"rssBeforeKb\":%ld,\"rssHeldKb\":%ld,\"rssAfterKb\":%ld,\"hwmKb\":%ld,"
         "\"closedEarly\":%d,\"aliveAfterHold\":%d,\"errors\":%ld,\"firstError\":\"%s\"}\n",
         clients, ready, open_s, rss0, rss, rss_after, hwm, closed_early, alive, g_errors,
         g_first_error);
  return 0;
}

static int mode_idle(int clients, int spread_ms, int timeout_ms) {
  g_conns = alloc_conns(clients);
  int64_t t0 = now_ns();
  int ready = establish(g_conns, clients, t0 + 30000000000LL);
  /* The establishing request was the first byte; the timed one follows. */
  int64_t base = now_ns();
  int64_t *eof_after = calloc((size_t)clients, sizeof *eof_after);
  int64_t *due = calloc((size_t)clients, sizeof *due);
  if (!eof_after || !due) return 2;
  for (int i = 0; i < clients; i++) {
    eof_after[i] = -1;
    due[i] = base + (int64_t)spread_ms * 1000000 * i / clients;
  }
  int64_t deadline = base + ((int64_t)spread_ms + timeout_ms * 3 + 5000) * 1000000;
  int open = 0;
  for (int i = 0; i < clients; i++) open += g_conns[i].st == READY;
  int next = 0, err_lines = 0, early = 0;
  struct epoll_event evs[128];
  while (open > 0 && now_ns() < deadline) {
    while (next < clients && now_ns() >= due[next]) {
      conn_t *c = &g_conns[next++];
      if (c->st == READY && send_req(c) < 0) {
        drop(c);
        open--;
      }
    }
    int wait_ms = 50;
    if (next < clients) {
      int64_t d = (due[next] - now_ns()) / 1000000;
      wait_ms = d < 0 ? 0 : (d < 50 ? (int)d : 50);
    }
    int k = epoll_wait(g_ep, evs, 128, wait_ms);
    int64_t now = now_ns();
    for (int i = 0; i < k; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c->st != READY) continue;
      int r = on_readable(c);
      if (r >= 0) continue;
      if (r == -2) {
        if (c->idx >= next) early++; /* closed before its timed request */
        eof_after[c->idx] = now - c->sent;
      }
      drop(c);
      open--;
    }
  }
  int64_t *v = calloc((size_t)clients, sizeof *v);
  int nv = 0;
  for (int i = 0; i < clients; i++) {
    err_lines += g_conns[i].saw_idle_err;
    if (eof_after[i] >= 0) v[nv++] = eof_after[i];
    if (g_conns[i].fd >= 0) close(g_conns[i].fd);
  }
  qsort(v, (size_t)nv, sizeof *v, cmp_i64);
  double to = timeout_ms;
#define LATE(q) (nv ? (double)v[(int)((q) * (nv - 1) + 0.5)] / 1e6 - to : 0)
  printf("{\"mode\":\"idle\",\"clients\":%d,\"connected\":%d,\"closed\":%d,\"errLines\":%d,"
         "\"closedEarly\":%d,\"timeoutMs\":%d,\"minLateMs\":%.2f,\"p50LateMs\":%.2f,"
         "\"p99LateMs\":%.2f,\"maxLateMs\":%.2f,\"errors\":%ld,\"firstError\":\"%s\"}\n",
         clients, ready, nv, err_lines, early, timeout_ms, LATE(0.0), LATE(0.5), LATE(0.99),
         LATE(1.0), g_errors, g_first_error);
  free(v);
  free(due);
  free(eof_after);
  return 0;
}

static int arg(char **argv, int i) { return atoi(argv[i]); }

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: loadgen rt|cps|hold|idle PORT ... (see the source)\n");
    return 2;
  }
  struct rlimit rl = {1 << 16, 1 << 16};
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0) { /* not root: keep what we have */
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  g_port = (uint16_t)atoi(argv[2]);
  g_ep = epoll_create1(EPOLL_CLOEXEC);
  const char *m = argv[1];
  if (strcmp(m, "rt") == 0 && argc == 7) {
    return mode_rt(arg(argv, 3), arg(argv, 4), arg(argv, 5), arg(argv, 6));
  }
  if (strcmp(m, "cps") == 0 && argc == 7) {
    return mode_cps(arg(argv, 3), arg(argv, 4), arg(argv, 5), arg(argv, 6));
  }
  if (strcmp(m, "hold") == 0 && argc == 6) return mode_hold(arg(argv, 3), arg(argv, 4), arg(argv, 5));
  if (strcmp(m, "idle") == 0 && argc == 6) return mode_idle(arg(argv, 3), arg(argv, 4), arg(argv, 5));
  fprintf(stderr, "loadgen: bad arguments\n");
  return 2;
}
