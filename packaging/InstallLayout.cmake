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
file(REMOVE_RECURSE "${PORTICO_STAGE_DIR}")
foreach(template portico.yaml portico.service portico.socket)
  configure_file("${PORTICO_TEMPLATE_DIR}/${template}.in" "${PORTICO_STAGE_DIR}/${template}" @ONLY)
endforeach()
# A config already there is the admin's: never overwrite it (the package's
# conffile handling does the same for dpkg). The new default goes next to it.
set(config_dest "$ENV{DESTDIR}${PORTICO_CONFIG_FILE}")
if(EXISTS "${config_dest}")
  file(READ "${config_dest}" existing)
  file(READ "${PORTICO_STAGE_DIR}/portico.yaml" fresh)
  if(NOT existing STREQUAL fresh)
    file(RENAME "${PORTICO_STAGE_DIR}/portico.yaml" "${PORTICO_STAGE_DIR}/portico.yaml.dist")
    message(STATUS "Keeping ${config_dest} (edited); the default config goes to portico.yaml.dist beside it")
  endif()
endif()
file(GLOB staged_config "${PORTICO_STAGE_DIR}/portico.yaml*")
file(INSTALL DESTINATION "${sysconfdir}/portico" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  FILES ${staged_config})
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/${PORTICO_UNITDIR}" TYPE FILE
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  FILES "${PORTICO_STAGE_DIR}/portico.service" "${PORTICO_STAGE_DIR}/portico.socket")
