# The API (and, from the scan-execution issue on, the worker) for a real deployment.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-fund --no-audit && npm cache clean --force
COPY schema ./schema
COPY src ./src
USER node
EXPOSE 4000
CMD ["node", "src/main.ts"]
