# What redsink's headers need, found the same way by the build and by installed consumers.
find_package(PostgreSQL REQUIRED)
find_package(fmt REQUIRED)
find_package(range-v3 REQUIRED)
find_package(Boost 1.71 REQUIRED)
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
