// Asio, Beast and Asio's OpenSSL glue, compiled once (separate compilation) so that the many
// translation units that use them do not each instantiate the implementation.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
