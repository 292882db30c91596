/*
 * main.c — ledfw-host: the firmware's app/ on Linux, on Debian's lwIP over
 * a TAP device (networking) and/or on a tty/pty (the UART). See
 * firmware/README.md for the command line and the stdout lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lwip/etharp.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/tcpip.h"
#include "netif/tapif.h"

#include "app.h"
#include "host_port.h"
#include "ports.h"

static const char usage[] =
    "usage: ledfw-host [--tap NAME --ip A.B.C.D/LEN [--gw A.B.C.D]] [--uart PATH|pty]\n"
    "                  [--server A.B.C.D:PORT] [--clients N] [--silent-clients N]\n"
    "                  [--listen PORT] [--max-clients N] [--idle-timeout-ms MS]\n"
    "                  [--frame-timeout-ms MS] [--trace FILE]\n"
    "Runs the firmware's application on Linux: on lwIP over an existing TAP device\n"
    "(--tap, needs CAP_NET_ADMIN) and/or on a serial line (--uart; \"pty\" creates one).\n"
    "  --server     ledctl server for the client tasks (default: the gateway, port 10000)\n"
    "  --clients    seed client tasks \"Client 1..N\" (default 0)\n"
    "  --silent-clients  extra clients that connect and stay silent (default 0)\n"
    "  --listen     LED listener port (default 7000 with --tap; 0 = none)\n"
    "  --max-clients     listener sessions (1..4, default 4)\n"
    "  --idle-timeout-ms listener idle timeout (default 10000; 0 = never)\n"
    "  --frame-timeout-ms partial-line timeout (default 100)\n"
    "  --trace      append \"time_ms,level\" per LED edge to FILE\n";

static struct netif netif;

/* stdout lines go through port_log so they never interleave with the tasks'. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void say(const char *fmt, ...)
{
    char line[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    port_log(line);
}

static ip4_addr_t ip, mask, gw;
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int ready;

static void die_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "ledfw-host: %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "", usage);
    exit(2);
}

static unsigned long number(const char *s, unsigned long max, const char *opt)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-') {
        char msg[96];
        snprintf(msg, sizeof msg, "%s needs a number from 0 to %lu", opt, max);
        die_usage(msg, s);
    }
    return v;
}

static void parse_ip(const char *s, ip4_addr_t *out, const char *opt)
{
    uint8_t b[4];
    if (!app_parse_ipv4(s, b)) {
        char msg[64];
        snprintf(msg, sizeof msg, "%s needs an IPv4 address", opt);
        die_usage(msg, s);
    }
    IP4_ADDR(out, b[0], b[1], b[2], b[3]);
}

static void tcpip_ready(void *arg)
{
    (void)arg;
    /* Inside the tcpip thread: lwIP's core lock is held. */
    if (netif_add(&netif, &ip, &mask, &gw, NULL, tapif_init, tcpip_input) == NULL) {
        fprintf(stderr, "ledfw-host: netif_add failed\n");
        exit(1);
    }
    netif_set_default(&netif);
    netif_set_up(&netif);
    netif_set_link_up(&netif);
    pthread_mutex_lock(&ready_lock);
    ready = 1;
    pthread_cond_signal(&ready_cond);
    pthread_mutex_unlock(&ready_lock);
}

/* Resolves `target` before the tasks start: with ARP_QUEUEING off, several
 * simultaneous connects to an unresolved address would stall on retransmits. */
static void warm_arp(const ip4_addr_t *target)
{
    double start = host_now_ms();
    double last_request = -1000.0;
    for (;;) {
        double now = host_now_ms();
        struct eth_addr *eth;
        const ip4_addr_t *found;
        LOCK_TCPIP_CORE();
        if (now - last_request >= 250.0) {
            etharp_request(&netif, target);
            last_request = now;
        }
        ssize_t idx = etharp_find_addr(&netif, target, &eth, &found);
        UNLOCK_TCPIP_CORE();
        if (idx >= 0) {
            say("arp %s resolved in %.0f ms", ip4addr_ntoa(target), now - start);
            return;
        }
        if (now - start > 3000.0) {
            say("arp %s not resolved after 3 s; starting anyway", ip4addr_ntoa(target));
            return;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL); /* lwIP has no ARP-resolved event to wait on */
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    app_config_t cfg;
    app_config_defaults(&cfg);
    cfg.clients = 0;
    cfg.uart = false;
    const char *tap = NULL, *ipspec = NULL, *gwspec = NULL, *server = NULL, *uart = NULL, *trace = NULL;
    long listen = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            die_usage("missing value for", a);
        }
        const char *v = argv[++i];
        if (strcmp(a, "--tap") == 0) {
            tap = v;
        } else if (strcmp(a, "--ip") == 0) {
            ipspec = v;
        } else if (strcmp(a, "--gw") == 0) {
            gwspec = v;
        } else if (strcmp(a, "--server") == 0) {
            server = v;
        } else if (strcmp(a, "--clients") == 0) {
            cfg.clients = (uint8_t)number(v, 50, a);
        } else if (strcmp(a, "--silent-clients") == 0) {
            cfg.silent_clients = (uint8_t)number(v, 50, a);
        } else if (strcmp(a, "--listen") == 0) {
            listen = (long)number(v, 65535, a);
        } else if (strcmp(a, "--max-clients") == 0) {
            cfg.max_clients = (uint8_t)number(v, APP_MAX_CLIENTS, a);
            if (cfg.max_clients == 0) {
                die_usage("--max-clients must be at least 1", v);
            }
        } else if (strcmp(a, "--idle-timeout-ms") == 0) {
            cfg.idle_timeout_ms = (uint32_t)number(v, 2147483647ul, a);
        } else if (strcmp(a, "--frame-timeout-ms") == 0) {
            cfg.frame_timeout_ms = (uint32_t)number(v, 2147483647ul, a);
            if (cfg.frame_timeout_ms == 0) {
                die_usage("--frame-timeout-ms must be at least 1", v);
            }
        } else if (strcmp(a, "--uart") == 0) {
            uart = v;
        } else if (strcmp(a, "--trace") == 0) {
            trace = v;
        } else {
            die_usage("unknown option", a);
        }
    }
    if (tap == NULL && uart == NULL) {
        die_usage("give --tap (network) and/or --uart (serial)", NULL);
    }
    cfg.network = tap != NULL;
    cfg.uart = uart != NULL;
    if (tap != NULL) {
        if (ipspec == NULL) {
            die_usage("--tap needs --ip A.B.C.D/LEN", NULL);
        }
        char ipbuf[32];
        snprintf(ipbuf, sizeof ipbuf, "%s", ipspec);
        char *slash = strchr(ipbuf, '/');
        unsigned long prefix = 24;
        if (slash != NULL) {
            *slash = '\0';
            prefix = number(slash + 1, 32, "--ip prefix length");
        }
        parse_ip(ipbuf, &ip, "--ip");
        uint32_t m = prefix == 0 ? 0 : 0xFFFFFFFFu << (32 - prefix);
        IP4_ADDR(&mask, (m >> 24) & 0xFF, (m >> 16) & 0xFF, (m >> 8) & 0xFF, m & 0xFF);
        if (gwspec != NULL) {
            parse_ip(gwspec, &gw, "--gw");
        } else {
            ip4_addr_set_zero(&gw);
        }
        if (server != NULL) {
            char sbuf[32];
            snprintf(sbuf, sizeof sbuf, "%s", server);
            char *colon = strchr(sbuf, ':');
            if (colon != NULL) {
                *colon = '\0';
                cfg.server_port = (uint16_t)number(colon + 1, 65535, "--server port");
            }
            ip4_addr_t check;
            parse_ip(sbuf, &check, "--server");
            memcpy(cfg.server_ip, sbuf, strlen(sbuf) + 1); /* at most 15 chars: parsed above */
        } else if (gwspec != NULL) {
            memcpy(cfg.server_ip, gwspec, strlen(gwspec) + 1); /* parsed above */
        }
        cfg.listen_port = listen < 0 ? APP_LISTEN_PORT : (uint16_t)listen;
    } else if (cfg.clients || cfg.silent_clients || listen > 0 || server) {
        die_usage("--server, --clients and --listen need --tap", NULL);
    }

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* every thread inherits this */
    signal(SIGPIPE, SIG_IGN);
    (void)host_now_ms();

    if (trace != NULL && !host_trace_open(trace)) {
        return 1;
    }
    if (uart != NULL && !host_uart_open(uart)) {
        return 1;
    }
    if (tap != NULL) {
        setenv("PRECONFIGURED_TAPIF", tap, 1);
        tcpip_init(tcpip_ready, NULL);
        pthread_mutex_lock(&ready_lock);
        while (!ready) {
            pthread_cond_wait(&ready_cond, &ready_lock);
        }
        pthread_mutex_unlock(&ready_lock);
        say("net up %s gw %s on %s", ipspec, gwspec ? gwspec : "-", tap);
        ip4_addr_t target;
        uint8_t b[4];
        if ((cfg.clients || cfg.silent_clients) && app_parse_ipv4(cfg.server_ip, b)) {
            IP4_ADDR(&target, b[0], b[1], b[2], b[3]);
            warm_arp(&target);
        } else if (gwspec != NULL) {
            warm_arp(&gw);
        }
    }
    if (app_run(&cfg) != 0) {
        return 1;
    }
    say("ready");

    int sig = 0;
    sigwait(&stop, &sig);
    host_led_final_off();
    say("stopped by %s; LED off", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fflush(stdout);
    _exit(0);
}
