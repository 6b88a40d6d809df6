# InstallLayout.cmake — runs inside `cmake --install` (component daemon):
# writes the default config and the systemd units with the paths of the
# prefix being installed to, then installs them. DESTDIR applies as usual.
#
# The config folder follows GNUInstallDirs' rule for the prefix at hand:
# /etc for / and /usr, <prefix>/etc otherwise (or an absolute
# CMAKE_INSTALL_SYSCONFDIR given at configure time).
if(IS_ABSOLUTE "${PORTICO_CONFIGURED_SYSCONFDIR}")
  set(sysconfdir "${PORTICO_CONFIGURED_SYSCONFDIR}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/" OR CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(sysconfdir "/${PORTICO_CONFIGURED_SYSCONFDIR}")
else()
  set(sysconfdir "${CMAKE_INSTALL_PREFIX}/${PORTICO_CONFIGURED_SYSCONFDIR}")
endif()

set(PORTICO_SYSCONFDIR "${sysconfdir}")
set(PORTICO_CONFIG_FILE "${sysconfdir}/portico/portico.yaml")
set(PORTICO_BINARY "${CMAKE_INSTALL_PREFIX}/${PORTICO_BINDIR}/portico")
set(PORTICO_PLUGIN_PATH "${CMAKE_INSTALL_PREFIX}/${PORTICO_PLUGINDIR}")
set(PORTICO_DOC_PATH "${CMAKE_INSTALL_PREFIX}/${PORTICO_DOCDIR}")

# One staging folder per destination: installs to two places at once (tests
# running side by side) must not write each other's files.
string(SHA1 destination_key "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}")
string(SUBSTRING "${destination_key}" 0 12 destination_key)
set(PORTICO_STAGE_DIR "${PORTICO_STAGE_DIR}/${destination_key}")
foreach(template portico.yaml portico.service portico.socket)
  configure_file("${PORTICO_TEMPLATE_DIR}/${template}.in" "${PORTICO_STAGE_DIR}/${template}" @ONLY)
endforeach()
file(INSTALL DESTINATION "${sysconfdir}/portico" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  FILES "${PORTICO_STAGE_DIR}/portico.yaml")
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/${PORTICO_UNITDIR}" TYPE FILE
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  FILES "${PORTICO_STAGE_DIR}/portico.service" "${PORTICO_STAGE_DIR}/portico.socket")
