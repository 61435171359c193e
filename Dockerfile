# ApexCluster image (Ubuntu 24.04 "noble" bases; TorchSharp's libtorch loads there as is).
# CPU:   docker build -t apexcluster/apex:latest .
# CUDA:  docker build --build-arg APEX_CUDA=true -t apexcluster/apex:latest-cuda .
#        (needs the CUDA packages on your NuGet feed, and the NVIDIA container runtime to run;
#        the runtime stage then starts from NVIDIA's CUDA 12 + cuDNN 9 runtime on Ubuntu 24.04.)
# Run:   docker run --rm -p 8080:8080 -v apex-data:/data -v "$PWD/media:/media:ro" \
#          -e APEX_BOOTSTRAP_ADMIN_KEY=change-me-to-a-long-secret apexcluster/apex:latest
# Other commands: docker run --rm -v "$PWD/music:/music" apexcluster/apex:latest embed /music
ARG APEX_CUDA=false

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
ARG APEX_CUDA
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ApexCluster.sln ./
COPY src/ src/
COPY tools/torchsharp-glibcxx/ tools/torchsharp-glibcxx/
RUN dotnet publish src/Apex.Cli/Apex.Cli.csproj -c Release -o /app -p:ApexCuda=${APEX_CUDA} --nologo

# Runtime bases: the ASP.NET Core image for CPU; NVIDIA's CUDA runtime (with the ASP.NET Core runtime
# added) for CUDA. The build argument picks one.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS runtime-false
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS runtime-true
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends aspnetcore-runtime-10.0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1654 --create-home app
ENV APP_UID=1654

FROM runtime-${APEX_CUDA}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data /media /models && chown "$APP_UID" /data /models
WORKDIR /app
COPY --from=build /app ./
# Non-root (the images' "app" user); the HTTP API on 8080, silo-to-silo on 11111, the Orleans gateway on 30000.
USER $APP_UID
ENV ASPNETCORE_HTTP_PORTS=8080
# A fixed BLAS thread count whatever the load, so a live training run and `apex train` agree to the bit.
ENV MKL_DYNAMIC=FALSE
EXPOSE 8080 11111 30000
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 CMD curl -fsS http://127.0.0.1:8080/health/live || exit 1
ENTRYPOINT ["dotnet", "/app/apex.dll"]
CMD ["serve", "--urls", "http://0.0.0.0:8080", "--Apex:DataDir=/data", "--Apex:MediaRoot=/media"]
