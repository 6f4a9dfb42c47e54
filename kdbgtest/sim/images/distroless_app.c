/* The only program in the `kdbgtest/distroless-app` image (no shell, nothing else). Built with `gcc -static -O2`.
 *
 * Usage: /app [--port=N] [--message=TEXT]
 * Serves HTTP/1.0 on 0.0.0.0:N (default 8080), answering "TEXT\n" to every GET; logs one line per request to
 * stdout; exits 0 on SIGTERM or SIGINT. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void on_stop(int sig) {
    (void)sig;
    stopping = 1;
}

static int listen_on(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in addr = {0};
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons((unsigned short)port);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) return -1;
    return fd;
}

static void serve(int client, const char *message, struct sockaddr_in *peer) {
    char request[2048], method[16] = "", path[1024] = "", reply[4096];
    ssize_t got = read(client, request, sizeof request - 1);
    int len;
    if (got <= 0) return;
    request[got] = '\0';
    sscanf(request, "%15s %1023s", method, path);
    if (strcmp(method, "GET") == 0) {
        len = snprintf(reply, sizeof reply,
                       "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s\n",
                       strlen(message) + 1, message);
    } else {
        len = snprintf(reply, sizeof reply, "HTTP/1.0 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    }
    if (write(client, reply, (size_t)len) < 0) perror("write");
    printf("%s %s %s from %s\n", method, path, strcmp(method, "GET") == 0 ? "200" : "405",
           inet_ntoa(peer->sin_addr));
    fflush(stdout);
}

int main(int argc, char **argv) {
    int port = 8080, server;
    const char *message = "hello from kdbgtest distroless-app";
    struct sigaction stop = {0};
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--port=", 7) == 0) port = atoi(argv[i] + 7);
        else if (strncmp(argv[i], "--message=", 10) == 0) message = argv[i] + 10;
        else {
            fprintf(stderr, "usage: /app [--port=N] [--message=TEXT]\n");
            return 2;
        }
    }
    stop.sa_handler = on_stop; /* no SA_RESTART: accept() returns EINTR so the loop sees `stopping` */
    sigaction(SIGTERM, &stop, NULL);
    sigaction(SIGINT, &stop, NULL);
    server = listen_on(port);
    if (server < 0) {
        perror("listen");
        return 1;
    }
    printf("listening on 0.0.0.0:%d\n", port);
    fflush(stdout);
    while (!stopping) {
        struct sockaddr_in peer;
        socklen_t size = sizeof peer;
        int client = accept(server, (struct sockaddr *)&peer, &size);
        if (client < 0) {
            if (errno == EINTR) continue;
            perror("accept");
            return 1;
        }
        serve(client, message, &peer);
        close(client);
    }
    printf("stopping on signal\n");
    return 0;
}
