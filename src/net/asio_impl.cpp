// Separate compilation: the implementations of Asio, Asio's SSL support and Beast are
// compiled here, once; every other translation unit only sees their declarations
// (BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION are set project-wide).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
