# El selector de recursos del docente, en español.

page-title = Buscar recursos educativos
heading = Buscar recursos educativos
heading-course = Buscar recursos educativos para { $course }
skip-to-results = Ir a los resultados
search-label = Buscar en todas las editoriales
search-placeholder = Buscar por tema, título o estándar
search-button = Buscar

## Punto de partida
started-from-course = Se partió de su curso «{ $course }».
started-from-request = Se partió de «{ $text }», enviado por su curso.
show-everything = Ver todos los recursos

## Filtros
filters = Filtros
filters-count = { $count ->
    [one] 1 filtro activo
   *[other] { $count } filtros activos
}
apply-filters = Aplicar filtros
done-filters = Ver resultados
clear-filters = Quitar todos los filtros
sort = Ordenar por
sort-relevance = Más relevantes
sort-newest = Más recientes
sort-title = Título (A–Z)
grade = Grado
grade-from = Desde
grade-to = Hasta
grade-any = Cualquiera
kind = Tipo
publisher = Editorial
subject = Materia
language = Idioma
license = Licencia
free-only = Solo de uso gratuito
standards = Estándares
standards-search = Buscar un estándar por código
standards-placeholder = p. ej. 3.NF
standards-find = Buscar
standards-none = Ningún estándar de estos resultados coincide con «{ $text }».
facet-count = { $count } recursos
remove-filter = Quitar filtro: { $label }
active-filters = Filtros aplicados

## Resultados
result-count = { $count ->
    [0] No se encontraron recursos
    [one] 1 recurso
   *[other] { $count } recursos
}
result-range = Se muestran { $from }–{ $to } de { $total }
no-results-help = Pruebe con otras palabras o quite un filtro.
more-results = Ver más resultados
previous-results = Resultados anteriores
select-resource = Seleccionar { $title }
details = Detalles
details-of = Detalles: { $title }
by-publisher = de { $publisher }
grades-range = { $from } a { $to }
grades-span = Grados { $from }–{ $to }
thumbnail-missing = Sin imagen

## Tipos
kind-LTI_RESOURCE_LINK = Herramienta interactiva
kind-LINK = Página web
kind-FILE = Archivo
kind-HTML = Página
kind-IMAGE = Imagen

## Grados
grade-pk = Preescolar
grade-k = Kínder
grade-n = Grado { $n }
grade-he = Educación superior

## Vista previa
preview-close = Cerrar
preview-open = Abrir en una pestaña nueva
preview-open-hint = se abre en una pestaña nueva
preview-tool-note = Una herramienta interactiva se abre dentro de su curso una vez insertada.
preview-add = Añadir a la selección
preview-remove = Quitar de la selección
preview-selected = Seleccionado
preview-description = Descripción
preview-publisher = Editorial
preview-kind = Tipo
preview-grades = Grados
preview-license = Licencia
license-terms = Condiciones de la licencia de la editorial
license-of-site = Licencia de { $site }
preview-license-none = No indicada
preview-free = De uso gratuito
preview-languages = Idioma
preview-subjects = Materias
preview-standards = Estándares
preview-accessibility = Accesibilidad
preview-a11y-none = La editorial no da información de accesibilidad.
preview-updated = Actualizado
preview-not-found = Este recurso ya no está disponible.
a11y-features = Características
a11y-hazards = Riesgos
a11y-modes = Modos de acceso
a11y-controls = Controles
a11y-apis = API de tecnologías de apoyo
a11y-summary = Resumen

## Bandeja de selección
selection = Su selección
selection-count = { $count ->
    [0] Nada seleccionado
    [one] 1 seleccionado
   *[other] { $count } seleccionados
}
selection-empty = Marque los recursos que quiera añadir; se quedan aquí mientras busca.
selection-single = Su curso acepta un solo recurso: si elige otro, lo reemplaza.
remove = Quitar
insert = { $count ->
    [0] Insertar
    [one] Insertar 1 recurso
   *[other] Insertar { $count } recursos
}
cancel = Cancelar
choose-first = Elija al menos un recurso para insertar, o cancele.
updating = Actualizando resultados…

## Idiomas (subetiqueta principal)
lang-en = Inglés
lang-es = Español
lang-fr = Francés
lang-de = Alemán
lang-it = Italiano
lang-pt = Portugués
lang-nl = Neerlandés
lang-zh = Chino
lang-ar = Árabe
lang-ja = Japonés
lang-ko = Coreano
lang-ru = Ruso
lang-pl = Polaco
lang-vi = Vietnamita
lang-hi = Hindi
lang-he = Hebreo
lang-uk = Ucraniano
lang-la = Latín
lang-sv = Sueco
lang-da = Danés
lang-no = Noruego
lang-fi = Finés
lang-tr = Turco
lang-el = Griego

## Términos de accesibilidad (schema.org)
a11y-alternativeText = Texto alternativo
a11y-audioDescription = Audiodescripción
a11y-braille = Braille
a11y-captions = Subtítulos
a11y-closedCaptions = Subtítulos opcionales
a11y-openCaptions = Subtítulos incrustados
a11y-describedMath = Matemáticas descritas
a11y-displayTransformability = Presentación ajustable
a11y-highContrastAudio = Audio de alto contraste
a11y-highContrastDisplay = Pantalla de alto contraste
a11y-largePrint = Letra grande
a11y-longDescription = Descripciones largas
a11y-MathML = MathML
a11y-readingOrder = Orden de lectura lógico
a11y-signLanguage = Lengua de señas
a11y-structuralNavigation = Navegación estructural
a11y-synchronizedAudioText = Audio y texto sincronizados
a11y-tableOfContents = Índice
a11y-taggedPDF = PDF etiquetado
a11y-tactileGraphic = Gráficos táctiles
a11y-transcript = Transcripción
a11y-ttsMarkup = Marcado para lectura en voz alta
a11y-flashing = Destellos
a11y-noFlashingHazard = Sin destellos
a11y-motionSimulation = Simulación de movimiento
a11y-noMotionSimulationHazard = Sin simulación de movimiento
a11y-sound = Sonido
a11y-noSoundHazard = Sin riesgo por sonido
a11y-none = Ninguno
a11y-unknown = Desconocido
a11y-auditory = Oído
a11y-textual = Lectura de texto
a11y-visual = Vista
a11y-tactile = Tacto
a11y-colorDependent = Depende del color
a11y-textOnVisual = Texto en imágenes
a11y-fullKeyboardControl = Control total por teclado
a11y-fullMouseControl = Control total con ratón
a11y-fullSwitchControl = Control total por conmutador
a11y-fullTouchControl = Control táctil total
a11y-fullVoiceControl = Control total por voz

## Errores
error-title = Se rechazó el inicio
error-advice = Cierre esta ventana y vuelva a empezar desde su curso. Si vuelve a ocurrir, comunique el mensaje anterior a la administración de su distrito.
returning = Volviendo a su curso…
continue = Continuar
