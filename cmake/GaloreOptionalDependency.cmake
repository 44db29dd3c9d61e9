# galore_optional_dependency(<option> <description> <found-variable>)
#
# The option defaults to whether the dependency was found (so a plain configure enables whatever
# the machine has); asking for a dependency that is missing is a configure error, not a silent
# downgrade. Each decision is recorded for feature_summary().
include(FeatureSummary)

function(galore_optional_dependency option description found_var)
  if(NOT DEFINED ${option})
    set(default OFF)
    if(${found_var})
      set(default ON)
    endif()
    option(${option} "${description}" ${default})
  endif()
  if(${option} AND NOT ${found_var})
    message(FATAL_ERROR "${option}=ON but ${description} was not found")
  endif()
  add_feature_info(${option} ${option} "${description}")
endfunction()
