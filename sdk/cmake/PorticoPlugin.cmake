# portico_add_plugin(<name> <sources>...) — builds <name>.so as a Portico
# plugin: a MODULE library with hidden visibility (only portico_plugin_v1 is
# exported) and -fno-gnu-unique, so that dlclose really unmaps it and hot
# reload does not leak old versions. -fstack-clash-protection makes a large
# stack frame touch its pages in order, so a handler that overflows its
# stack (a fiber's in mode events) hits the guard page instead of jumping
# over it into a neighbour.
function(portico_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE Portico::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # C never emits STB_GNU_UNIQUE symbols; only a C++ project has to opt out.
  get_property(portico_languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if("CXX" IN_LIST portico_languages)
    target_compile_features(${name} PRIVATE cxx_std_17)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fno-gnu-unique>)
    endif()
  endif()
  # Per source language, so a project that enables only CXX (or only C) works.
  target_compile_options(${name} PRIVATE
    $<$<COMPILE_LANG_AND_ID:CXX,GNU,Clang>:-fstack-clash-protection>
    $<$<COMPILE_LANG_AND_ID:C,GNU,Clang>:-fstack-clash-protection>)
  if(DEFINED PORTICO_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PORTICO_PLUGIN_OUTPUT_DIR})
  endif()
  # Plugins must not depend on host symbols; catch undefined references at link time.
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
endfunction()
