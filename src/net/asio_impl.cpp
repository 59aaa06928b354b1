// Asio's separate compilation: its implementation is compiled here, once, and every other
// translation unit only sees declarations (BOOST_ASIO_SEPARATE_COMPILATION is set project-wide).
#include <boost/asio/impl/src.hpp>
