/* Intentionally empty: the library's code comes from the Debian package (see meson.build). */
