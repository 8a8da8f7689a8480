#ifndef CTLS_SHIM_H
#define CTLS_SHIM_H
#include <errno.h>
#include <stdint.h>
#include <sys/types.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* Macros Swift cannot import, as functions. */
static inline long ctls_set_min_tls12(SSL_CTX *context) {
    return SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}
static inline long ctls_set_server_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
static inline void ctls_ignore_unexpected_eof(SSL_CTX *context) {
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(context, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
}

/* Declared here rather than through <sys/socket.h>, which this module would then take over from
   Swift's Glibc module (hiding SOCK_STREAM and friends from Swift code that imports both). */
extern ssize_t send(int fd, const void *buffer, size_t length, int flags);
extern ssize_t recv(int fd, void *buffer, size_t length, int flags);
#ifdef __linux__
#define CTLS_MSG_NOSIGNAL 0x4000
#else
#define CTLS_MSG_NOSIGNAL 0
#endif

/* A socket BIO that sends with MSG_NOSIGNAL: OpenSSL's own uses write(2), which raises SIGPIPE
   when the server has hung up. The descriptor is the BIO's data (owned by the caller). */
static inline int ctls_bio_write(BIO *bio, const char *buffer, int length) {
    int fd = (int)(intptr_t)BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    for (;;) {
        ssize_t n = send(fd, buffer, (size_t)length, CTLS_MSG_NOSIGNAL);
        if (n >= 0) return (int)n;
        if (errno == EINTR) continue;
        return -1;
    }
}
static inline int ctls_bio_read(BIO *bio, char *buffer, int length) {
    int fd = (int)(intptr_t)BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    for (;;) {
        ssize_t n = recv(fd, buffer, (size_t)length, 0);
        if (n >= 0) return (int)n;
        if (errno == EINTR) continue;
        return -1;
    }
}
static inline long ctls_bio_ctrl(BIO *bio, int command, long number, void *pointer) {
    (void)bio; (void)number; (void)pointer;
    return command == BIO_CTRL_FLUSH ? 1 : 0;
}
static inline int ctls_bio_create(BIO *bio) { BIO_set_init(bio, 1); return 1; }

/* The method is made once per process (callers serialise the first call). */
static inline BIO *ctls_socket_bio(int fd) {
    static BIO_METHOD *method = NULL;
    if (method == NULL) {
        BIO_METHOD *made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pipe socket");
        if (made == NULL) return NULL;
        BIO_meth_set_write(made, ctls_bio_write);
        BIO_meth_set_read(made, ctls_bio_read);
        BIO_meth_set_ctrl(made, ctls_bio_ctrl);
        BIO_meth_set_create(made, ctls_bio_create);
        method = made;
    }
    BIO *bio = BIO_new(method);
    if (bio != NULL) BIO_set_data(bio, (void *)(intptr_t)fd);
    return bio;
}
#endif
